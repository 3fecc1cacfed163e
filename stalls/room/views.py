"""The stall room's HTTP side: the chat's scroll-back. Thin: parse, read, answer."""

import re

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from bazaar.ids import ULID_PATTERN

from ..selectors import stall_get
from . import selectors
from .chat import chat_entry

ULID_RE = re.compile(ULID_PATTERN)


@require_GET
def chat_history(request: HttpRequest, public_id: str) -> JsonResponse:
    """Scroll-back for the stall chat: older messages as JSON (rendered with textContent)."""
    stall = stall_get(public_id=public_id)
    before = request.GET.get("before") or None
    if before is not None and not ULID_RE.fullmatch(before):
        return JsonResponse({"error": "before must be a message id."}, status=400)
    page = selectors.chat_history(stall=stall, viewer=request.user, before=before)
    return JsonResponse(
        {
            "messages": [chat_entry(message) for message in page["messages"]],
            "more": page["more"],
        }
    )
