"""One media interface, two backends: LiveKit in production, Janus embedded and in CI.

A backend makes and ends a stall's room and grants the page what it needs to join
it: the seller to publish, a viewer to watch. The page picks its client from the
grant's `backend`. Nothing here touches the database; services call these outside
any transaction that holds a row lock.
"""

from django.conf import settings

from .base import HOW_TO_ENABLE, Grant, MediaBackend, MediaUnavailable, room_name
from .janus import JanusBackend
from .livekit import LiveKitBackend

__all__ = ["HOW_TO_ENABLE", "Grant", "MediaBackend", "MediaUnavailable", "backend", "room_name"]

BACKENDS = {"livekit": LiveKitBackend, "janus": JanusBackend}
_instances: dict[str, MediaBackend] = {}


def backend() -> MediaBackend | None:
    """The configured backend (settings.SHOWS_MEDIA), or None when video is off."""
    name = settings.SHOWS_MEDIA
    if name not in BACKENDS:
        return None
    if name not in _instances:
        _instances[name] = BACKENDS[name]()
    return _instances[name]
