"""Two-step verification: six-digit codes from an authenticator app (TOTP, RFC 6238)
and ten one-use recovery codes, kept as django-otp's devices. Everyone with a role
passes it before the admin and the stewards' console (stewards.admin_site); a session
remembers the step once passed (`django_otp.login`).

Wrong codes slow down: each device waits 1, 2, 4, 8… seconds after successive
failures (django-otp's throttling), and a code the app showed is good once (its time
step is remembered)."""

import logging
import math
from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from bazaar.errors import Conflict, Invalid, NotAllowed, RateLimited
from bazaar.metrics import refusals

from .authenticator_keys import secret_new, secret_opened, secret_sealed
from .mail import account_mail_on_commit
from .models import AuthenticatorApp, RecoveryCode, RecoveryCodes, User
from .recovery_codes import recovery_code_new
from .selectors import second_factor_app

log = logging.getLogger(__name__)

RECOVERY_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def second_factor_begin(*, user: User) -> AuthenticatorApp:
    """A new secret for the person's app, in force only once a code from it is
    confirmed; starting again replaces a set-up left unfinished."""
    if not user.is_staff:
        raise NotAllowed("Two-step verification is for stewards and ops.")
    if second_factor_app(user) is not None:
        raise Conflict("Two-step verification is already on for your account.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return AuthenticatorApp.objects.create(
        user=user,
        name=APP_DEVICE_NAME,
        confirmed=False,
        key=secret_sealed(secret_new(), user_id=user.pk),
    )


def second_factor_confirm(*, user: User, code: str) -> tuple[AuthenticatorApp, list[str]]:
    """Turn it on with the first code the app shows; returns the device and the
    recovery codes, shown once."""
    with transaction.atomic():
        device = (
            AuthenticatorApp.objects.select_for_update().filter(user=user, confirmed=False).first()
        )
        if device is None:
            raise Conflict(
                "That set-up is no longer open: it was finished or started again. "
                "Start again from the beginning."
            )
        accepted = _accepts(device, _digits(code))
        if accepted:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _recovery_codes_issue(user)
            account_mail_on_commit(template="two_step_on", to=user.email, user=user)
    if not accepted:
        _refused()
    return device, codes


def second_factor_verify(*, user: User, code: str) -> Device:
    """The device that accepts `code`: the app's six digits, or a recovery code (used
    up by this). Raises Invalid for a wrong code, RateLimited while failures cool."""
    code = code.strip()
    if not code:
        raise Invalid("Type the code your authenticator app shows, or a recovery code.")
    is_app_code = _digits(code).isdigit()
    model = AuthenticatorApp if is_app_code else RecoveryCodes
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise Invalid(
                "Two-step verification is not set up for your account."
                if is_app_code
                else "You have no recovery codes left. Use your authenticator app."
            )
        accepted = _accepts(device, _digits(code) if is_app_code else code)
    if not accepted:
        if is_app_code and _used_before(device, _digits(code)):
            log.warning("a used two-step code was typed again for account %s", user.public_id)
            account_mail_on_commit(template="two_step_code_reused", to=user.email, user=user)
        _refused()
    return device


def recovery_codes_renew(*, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    if second_factor_app(user) is None:
        raise Conflict("Turn on two-step verification first.")
    with transaction.atomic():
        codes = _recovery_codes_issue(user)
        account_mail_on_commit(template="recovery_codes_new", to=user.email, user=user)
    return codes


def second_factor_reset(*, user: User, notify: bool = True) -> int:
    """Ops' answer to a lost phone: the person's app and recovery codes are gone, every
    session that passed with them must pass again, and the next visit to the admin
    sets up a new app; the account's address is told. Returns how many devices (the
    app, the codes' holder) were removed."""
    removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
    removed += StaticDevice.objects.filter(user=user).delete()[1].get(StaticDevice._meta.label, 0)
    if removed and notify:
        account_mail_on_commit(template="two_step_reset", to=user.email, user=user)
    return removed


def authenticator_secrets_reseal() -> int:
    """Seal every authenticator secret under the current SECRET_KEY, for a rotation:
    run it before the old key leaves SECRET_KEY_FALLBACKS. Returns how many were
    sealed anew."""
    resealed = 0
    with transaction.atomic():
        for app in AuthenticatorApp.objects.select_for_update().order_by("pk"):
            secret, current = secret_opened(app.key, user_id=app.user_id)
            if not current:
                app.key = secret_sealed(secret, user_id=app.user_id)
                app.save(update_fields=["key"])
                resealed += 1
    return resealed


def _recovery_codes_issue(user: User) -> list[str]:
    """Replace the person's recovery codes (inside the caller's transaction). The
    device is kept, so a session that passed with a recovery code stays passed."""
    device, _ = RecoveryCodes.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME, "confirmed": True}
    )
    device.recovery_codes.all().delete()
    codes = [recovery_code_new() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(RecoveryCode.kept_for(device, code) for code in codes)
    return codes


def _digits(code: str) -> str:
    """An app's code as typed: people write "123 456" or "123-456"."""
    return "".join(code.split()).replace("-", "")


def _accepts(device: Device, code: str) -> bool:
    """Does `device` take `code`? A wrong one is counted (its own write, kept when the
    caller's transaction ends); RateLimited while earlier failures cool."""
    allowed, why = device.verify_is_allowed()
    if not allowed:
        wait = 1
        if why and "locked_until" in why:
            wait = max(1, math.ceil((why["locked_until"] - timezone.now()).total_seconds()))
        refusals.labels("two_step").inc()
        raise RateLimited(
            f"Too many wrong codes. Wait {wait} second{'s' if wait != 1 else ''} and try again.",
            retry_after=wait,
        )
    return device.verify_token(code)


def _used_before(device: AuthenticatorApp, code: str) -> bool:
    """Was `code` the app's code for now, refused only because it was used already?
    Someone may have watched it typed (OWASP ASVS V2.8.5): its owner is told."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return code.isdigit() and totp.verify(int(code), device.tolerance)


def _refused() -> NoReturn:
    """Raised after the transaction, so the device's count of failures is kept."""
    raise Invalid(
        "That code is not right. Type the six digits your app shows now (each works "
        "once), or one of your recovery codes."
    )
