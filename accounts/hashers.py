"""Password hashes with a pepper (OWASP ASVS V2.4.5): PBKDF2 of an HMAC-SHA256 of the
password under a key kept outside the database (`PASSWORD_PEPPERS`, from the
environment), so a copy of the users table alone cannot be guessed at offline.

The pepper's id rides in the salt (`k2.<salt>`): a hash made under an older pepper
verifies while that pepper is still listed and is made again under the current one
at the next log-in (Django re-hashes when `must_update` says so), as are the plain
PBKDF2 hashes from before peppering. A hash whose pepper is no longer listed matches
no password: its owner resets it (the runbook's "Rotate secrets")."""

import contextlib
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class UnknownPepper(ValueError):
    """The hash names a pepper no longer configured."""


def _pepper_id(salt: str) -> str:
    return salt.partition(".")[0]


def _peppered(password: str, pepper_id: str) -> str:
    try:
        key = settings.PASSWORD_PEPPERS[pepper_id]
    except KeyError:
        raise UnknownPepper(pepper_id) from None
    return hmac.new(key.encode(), password.encode(), hashlib.sha256).hexdigest()


def current_pepper_id() -> str:
    """The first pepper listed hashes new passwords."""
    return next(iter(settings.PASSWORD_PEPPERS))


class PepperedPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sha256_peppered"

    def salt(self) -> str:
        return f"{current_pepper_id()}.{super().salt()}"

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        self._check_encode_args(password, salt)
        return super().encode(_peppered(password, _pepper_id(salt)), salt, iterations)

    def verify(self, password: str, encoded: str) -> bool:
        try:
            return super().verify(password, encoded)
        except UnknownPepper:
            return False

    def must_update(self, encoded: str) -> bool:
        stale = _pepper_id(self.decode(encoded)["salt"]) != current_pepper_id()
        return stale or super().must_update(encoded)

    def harden_runtime(self, password: str, encoded: str) -> None:
        with contextlib.suppress(UnknownPepper):
            super().harden_runtime(password, encoded)
