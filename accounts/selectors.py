"""Reads of accounts scoped to the person asking."""

from django.contrib.sessions.models import Session
from django.utils import timezone

from .models import SignIn, User


def sign_ins_for(user: User, *, current_session_key: str | None) -> list[SignIn]:
    """Where `user` is signed in now (sessions not expired), this device first, then
    the most recent; each marked `is_current`."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    sign_ins = list(SignIn.objects.filter(user=user, session_key__in=live))
    for sign_in in sign_ins:
        sign_in.is_current = sign_in.session_key == current_session_key
    return sorted(sign_ins, key=lambda s: (not s.is_current, -s.signed_in_at.timestamp()))
