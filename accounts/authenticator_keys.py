"""Authenticator apps' secrets kept sealed (OWASP ASVS V2.8.2): AES-256-GCM under a key
derived from SECRET_KEY, which lives in the environment, never in the database. A copy
of the database cannot make anyone's six-digit codes, and a sealed secret opens only on
its owner's row. Secrets sealed under a SECRET_KEY being rotated out still open with
SECRET_KEY_FALLBACKS until `manage.py two_step_keys_reseal` seals them anew."""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac

SEALED_PREFIX = "v1."
NONCE_BYTES = 12
SECRET_BYTES = 20  # django-otp's own size for a TOTP secret (160 bits, RFC 4226)
_PURPOSE = "accounts.authenticator_keys"


class KeyUnreadable(ValueError):
    """No SECRET_KEY or fallback opens the secret, or it was kept in clear."""


def secret_new() -> bytes:
    return os.urandom(SECRET_BYTES)


def secret_sealed(secret: bytes, *, user_id: int) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _cipher(settings.SECRET_KEY).encrypt(nonce, secret, _owner(user_id))
    return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode()


def secret_opened(sealed: str, *, user_id: int) -> tuple[bytes, bool]:
    """The secret, and whether it is sealed under the current SECRET_KEY."""
    if not sealed.startswith(SEALED_PREFIX):
        raise KeyUnreadable("This authenticator secret is not sealed.")
    raw = base64.urlsafe_b64decode(sealed.removeprefix(SEALED_PREFIX))
    nonce, body = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for index, key in enumerate([settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]):
        try:
            return _cipher(key).decrypt(nonce, body, _owner(user_id)), index == 0
        except InvalidTag:
            continue
    raise KeyUnreadable("Neither SECRET_KEY nor a fallback opens this authenticator secret.")


def _cipher(key: str) -> AESGCM:
    return AESGCM(salted_hmac(_PURPOSE, "seal", secret=key, algorithm="sha256").digest())


def _owner(user_id: int) -> bytes:
    """Bound into the seal: a secret copied onto another person's row does not open."""
    return f"user:{user_id}".encode()
