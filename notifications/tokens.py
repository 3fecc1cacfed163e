"""Signed unsubscribe links: they work without logging in (a mail client's one-click
POST carries no session), so the link itself must prove whose email it stops."""

from dataclasses import dataclass

from django.core import signing

SALT = "notifications.unsubscribe"
ALL = "all"


@dataclass(frozen=True)
class Unsubscribe:
    user_public_id: str
    kind: str  # a notice kind, or ALL


def unsubscribe_token(*, user_public_id: str, kind: str) -> str:
    return signing.dumps({"u": user_public_id, "k": kind}, salt=SALT)


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """What a token asks for, or None when it was not signed by us or was altered.
    No expiry: an email read a year later must still stop the next one."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        return None
    if not isinstance(data.get("k"), str):
        return None
    return Unsubscribe(user_public_id=data["u"], kind=data["k"])
