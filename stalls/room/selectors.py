"""Reads for the stall room, scoped to who is asking."""

from django.db.models import Q

from ..models import ChatMessage, Stall

CHAT_PAGE = 50


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
