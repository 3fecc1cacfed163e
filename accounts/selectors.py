"""Reads of accounts scoped to the person asking."""

import time

from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from bazaar.exports import rows

from .models import AuthenticatorApp, RecoveryCode, SignIn, User


def sign_ins_for(user: User, *, current_session_key: str | None) -> list[SignIn]:
    """Where `user` is signed in now (sessions not expired), this device first, then
    the most recent; each marked `is_current`."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    sign_ins = list(SignIn.objects.filter(user=user, session_key__in=live))
    for sign_in in sign_ins:
        sign_in.is_current = sign_in.session_key == current_session_key
    return sorted(sign_ins, key=lambda s: (not s.is_current, -s.signed_in_at.timestamp()))


def second_factor_app(user: User) -> AuthenticatorApp | None:
    """The authenticator app that two-step verification asks for, once set up."""
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).first()


def second_factor_pending(user: User) -> AuthenticatorApp | None:
    """An app being set up: its secret shown, no code from it confirmed yet."""
    return AuthenticatorApp.objects.filter(user=user, confirmed=False).first()


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, device__confirmed=True).count()


# A role holder's second step lapses (OWASP ASVS V3.3.2, level 2): 12 hours after it
# was passed, or after 30 minutes without a page that asked for it. The password
# session itself lasts as a shopper's does.
SECOND_STEP_LASTS_SECONDS = 12 * 3600
SECOND_STEP_IDLE_SECONDS = 30 * 60
# When the step was passed and last used (Unix time), beside django-otp's device id.
SECOND_STEP_PASSED_AT = "second_step_passed_at"
SECOND_STEP_USED_AT = "second_step_used_at"


def second_step_fresh(session) -> bool:
    """Was the step passed in this session recently enough, and used since within the
    idle limit? The session alone says; no query."""
    now = time.time()
    passed_at = session.get(SECOND_STEP_PASSED_AT, 0)
    used_at = session.get(SECOND_STEP_USED_AT, 0)
    return now - passed_at < SECOND_STEP_LASTS_SECONDS and now - used_at < SECOND_STEP_IDLE_SECONDS


# Money moved by a steward (a dispute's settlement) asks for the code again when the
# step was passed more than this long ago, however busy the session has been since
# (OWASP ASVS V4.3.3, in the manner of GitHub's sudo mode): a stolen session alone
# moves nothing.
STEP_UP_SECONDS = 10 * 60


def second_step_recent(session) -> bool:
    """Was the code typed in this session within STEP_UP_SECONDS? The session says."""
    return time.time() - session.get(SECOND_STEP_PASSED_AT, 0) < STEP_UP_SECONDS


def second_step_passed(*, user: User, session) -> bool:
    """Has this session passed two-step verification with one of `user`'s devices
    still in force, recently enough? A device removed since (a reset) no longer counts."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id or not user.is_authenticated or not second_step_fresh(session):
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


def account_export(user: User) -> dict:
    """The account itself and where it is signed in, for its owner's data export."""
    return {
        "handle": user.handle,
        "email": user.email,
        "email_verified_at": user.email_verified_at,
        "joined_at": user.date_joined,
        "time_zone": user.time_zone,
        "privacy_notice_read": {
            "edition": user.privacy_notice_version,
            "at": user.privacy_notice_read_at,
        },
        "signed_in": rows(
            SignIn.objects.filter(user=user).order_by("signed_in_at"),
            device="device",
            signed_in_at="signed_in_at",
        ),
    }
