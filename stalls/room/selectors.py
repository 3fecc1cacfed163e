"""Reads for the stall room, scoped to who is asking."""

import threading
import time

from django.db.models import Q

from ..models import ChatMessage, Stall

CHAT_PAGE = 50
# A crowd joining one stall reads it once per process per few seconds, not per socket.
ROOM_STALL_SECONDS = 5.0
_room_stalls: dict[str, tuple[float, Stall]] = {}
_room_stalls_lock = threading.Lock()


def room_stall_kept(*, public_id: str) -> Stall | None:
    """The stall as this process keeps it, if it does: no I/O, so a socket's handler
    may ask on the event loop."""
    with _room_stalls_lock:
        kept = _room_stalls.get(public_id)
    return kept[1] if kept is not None and kept[0] > time.monotonic() else None


def room_stall(*, public_id: str) -> Stall | None:
    """The stall (with its seller) a room socket opens, kept briefly in this process:
    what a socket reads of it (ids, seller, section) does not change under a visit."""
    kept = room_stall_kept(public_id=public_id)
    if kept is not None:
        return kept
    now = time.monotonic()
    stall = Stall.objects.select_related("seller").filter(public_id=public_id).first()
    if stall is not None:
        with _room_stalls_lock:
            if len(_room_stalls) > 1000:
                _room_stalls.clear()
            _room_stalls[public_id] = (now + ROOM_STALL_SECONDS, stall)
    return stall


def chat_history(*, stall: Stall, viewer, before: str | None, limit: int = CHAT_PAGE) -> dict:
    """Older messages for the chat's scroll-back: visible ones, plus the viewer's
    own held ones (shown to them alone), newest first, `limit` at a time."""
    shown = Q(status=ChatMessage.Status.VISIBLE)
    if viewer.is_authenticated:
        shown |= Q(status=ChatMessage.Status.HELD, author=viewer)
    messages = ChatMessage.objects.filter(shown, stall=stall).select_related("author")
    if before:
        messages = messages.filter(public_id__lt=before)
    page = list(messages.order_by("-public_id")[: limit + 1])
    return {"messages": page[:limit], "more": len(page) > limit}


def chat_held(*, limit: int) -> tuple[int, list[ChatMessage]]:
    """For stewards: how many messages wait for review, and the oldest `limit`."""
    held = ChatMessage.objects.filter(status=ChatMessage.Status.HELD)
    rows = list(held.select_related("author", "stall").order_by("created_at")[:limit])
    return held.count(), rows


def chat_held_get(*, public_ids: list[str]) -> list[ChatMessage]:
    return list(ChatMessage.objects.filter(public_id__in=public_ids).select_related("stall"))


def chat_message_visible(*, public_id: str) -> ChatMessage | None:
    """A message everyone can see (what can be reported), with its author and stall."""
    return (
        ChatMessage.objects.filter(public_id=public_id, status=ChatMessage.Status.VISIBLE)
        .select_related("author", "stall")
        .first()
    )
