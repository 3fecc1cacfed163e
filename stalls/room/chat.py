"""Chat in the stall room: checked, stored, written into the stall document, published.

A message is acknowledged to its author only after `chat_post` returns, so after
it has committed. Stewards hold, release and delete messages here too.
"""

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from analytics.models import Kind
from analytics.recording import record
from bazaar.broadcast import broadcast_on_commit, user_group
from bazaar.errors import Conflict, Invalid, NotAllowed, RateLimited
from bazaar.metrics import refusals
from governance.models import StewardAction
from governance.moderation import text_flags
from governance.selectors import chat_restriction, chat_under_open_report, user_is_steward
from governance.services import steward_action_record

from ..models import ChatMessage, Stall
from .document import (
    chat_entry_insert,
    chat_entry_remove,
    document_change,
    document_compact,
    document_presence,
)

CHAT_MAX_LENGTH = 500
CHAT_RATE_MESSAGES = 5
CHAT_RATE_SECONDS = 10
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})\b")


def chat_entry(message: ChatMessage) -> dict:
    """A message as the stall document (and the author's own socket) carry it."""
    return {
        "id": message.public_id,
        "author": message.author.handle,
        "author_id": message.author.public_id,
        "text": message.text,
        "at": message.created_at.isoformat(),
        "mentions": message.mentions,
        "status": message.status,
    }


def _mentions(*, stall: Stall, text: str) -> list[str]:
    """`@handle`s in the text that name someone present in or known to the stall
    (its seller, or anyone who has chatted there)."""
    wanted = {handle.lower() for handle in _MENTION.findall(text)}
    if not wanted:
        return []
    present = {info["handle"] for info in document_presence(stall_id=stall.pk)}
    known = (
        User.objects.annotate(lower_handle=Lower("handle"))
        .filter(lower_handle__in=wanted)
        .filter(Q(chat_messages__stall=stall) | Q(seller_profile__stall=stall))
        .values_list("handle", flat=True)
        .distinct()
    )
    return sorted({handle for handle in present | set(known) if handle.lower() in wanted})


def _check_chat_rate(*, user) -> None:
    """At most 5 messages in any 10 s, counted from the stored rows (held ones too)."""
    since = timezone.now() - timedelta(seconds=CHAT_RATE_SECONDS)
    recent = ChatMessage.objects.filter(author=user, created_at__gte=since).count()
    if recent >= CHAT_RATE_MESSAGES:
        refusals.labels("chat").inc()
        raise RateLimited(
            f"Slow down: at most {CHAT_RATE_MESSAGES} messages every {CHAT_RATE_SECONDS} seconds."
        )


def chat_post(*, user, stall: Stall, text: str) -> ChatMessage:
    """Accept a chat message: checked, stored, written into the document, published.

    A message with a banned word is stored but held: only its author sees it
    (marked as held) until a steward releases or deletes it. The caller may
    acknowledge the message once this returns: it has committed.
    """
    if not user.is_authenticated:
        raise NotAllowed("Sign in to chat.", code="auth_required")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise Invalid("Write something first.", code="empty")
    if len(text) > CHAT_MAX_LENGTH:
        raise Invalid(
            f"Messages are at most {CHAT_MAX_LENGTH} characters; this one has {len(text)}.",
            code="too_long",
        )
    restriction = chat_restriction(user=user, stall=stall)
    if restriction is not None:
        raise NotAllowed(restriction.message, code=restriction.kind)
    _check_chat_rate(user=user)
    flags = text_flags(text)
    mentions = _mentions(stall=stall, text=text)
    with transaction.atomic():
        message = ChatMessage.objects.create(
            stall=stall,
            author=user,
            text=text,
            mentions=mentions,
            flags=flags,
            status=ChatMessage.Status.HELD if flags else ChatMessage.Status.VISIBLE,
        )
        entry = chat_entry(message)
        record(Kind.CHAT_SENT, user=user, stall=stall)
        if flags:
            broadcast_on_commit(
                user_group(user.public_id),
                {"type": "chat.private", "event": "chat_held", "message": entry},
            )
        else:
            document_change(
                stall_id=stall.pk,
                stall_public_id=stall.public_id,
                change=lambda doc: chat_entry_insert(doc, _public(entry)),
            )
    return message


def _public(entry: dict) -> dict:
    """What everyone sees of a message (the status is the author's business)."""
    return {key: value for key, value in entry.items() if key != "status"}


def _require_steward(actor) -> None:
    if not user_is_steward(user=actor):
        raise NotAllowed("Only stewards moderate chat.")


def _record(actor, action: StewardAction.Action, message: ChatMessage, reason: str) -> None:
    steward_action_record(
        actor=actor,
        action=action,
        target_kind="chat",
        target_ref=message.public_id,
        target_label=f"@{message.author.handle} in {message.stall.name}: {message.text[:80]}",
        reason=reason,
    )


@transaction.atomic
def chat_message_release(*, message: ChatMessage, actor, reason: str = "") -> ChatMessage:
    """A steward lets a held message through: it joins the document in id order."""
    _require_steward(actor)
    message = (
        ChatMessage.objects.select_for_update().select_related("author", "stall").get(pk=message.pk)
    )
    if message.status != ChatMessage.Status.HELD:
        raise Conflict("That message is not held for review any more.")
    message.status = ChatMessage.Status.VISIBLE
    message.moderated_by = actor
    message.moderated_at = timezone.now()
    message.save(update_fields=["status", "moderated_by", "moderated_at"])
    _record(actor, StewardAction.Action.CHAT_RELEASE, message, reason or "Not against the rules.")
    entry = chat_entry(message)
    document_change(
        stall_id=message.stall_id,
        stall_public_id=message.stall.public_id,
        change=lambda doc: chat_entry_insert(doc, _public(entry)),
    )
    broadcast_on_commit(
        user_group(message.author.public_id),
        {"type": "chat.private", "event": "chat_released", "message": entry},
    )
    return message


@transaction.atomic
def chat_message_delete(*, message: ChatMessage, actor, reason: str = "") -> ChatMessage:
    """A steward removes a message: out of the document if it was shown."""
    _require_steward(actor)
    message = (
        ChatMessage.objects.select_for_update().select_related("author", "stall").get(pk=message.pk)
    )
    if message.status == ChatMessage.Status.DELETED:
        return message
    was_visible = message.status == ChatMessage.Status.VISIBLE
    message.status = ChatMessage.Status.DELETED
    message.moderated_by = actor
    message.moderated_at = timezone.now()
    message.save(update_fields=["status", "moderated_by", "moderated_at"])
    _record(actor, StewardAction.Action.CHAT_DELETE, message, reason or "Against the chat rules.")
    if was_visible:
        document_change(
            stall_id=message.stall_id,
            stall_public_id=message.stall.public_id,
            change=lambda doc: chat_entry_remove(doc, message.public_id),
        )
    broadcast_on_commit(
        user_group(message.author.public_id),
        {"type": "chat.private", "event": "chat_deleted", "message": chat_entry(message)},
    )
    return message


def chat_expire(*, now: datetime | None = None) -> int:
    """Delete stall chat written more than CHAT_RETENTION_DAYS ago (ASVS V8.3.8), but
    not a message an open report names or one held and not yet reviewed: those wait
    for a steward. Returns how many messages went."""
    before = (now or timezone.now()) - timedelta(days=settings.CHAT_RETENTION_DAYS)
    due = (
        ChatMessage.objects.filter(created_at__lt=before)
        .exclude(status=ChatMessage.Status.HELD)
        .exclude(public_id__in=chat_under_open_report())
    )
    stalls = Stall.objects.filter(pk__in=due.values("stall_id")).only("pk", "public_id")
    return sum(_chat_expire_in(stall, due.filter(stall=stall)) for stall in stalls)


@transaction.atomic
def _chat_expire_in(stall: Stall, due) -> int:
    """One stall's expired messages: out of its document by compacting it without them
    (a quiet stall's document may still show them, and its update log holds the text
    of every message since the last compaction), then out of the table."""
    gone = set(due.values_list("public_id", flat=True))
    document_compact(stall_id=stall.pk, stall_public_id=stall.public_id, dropping_chat=gone)
    return ChatMessage.objects.filter(public_id__in=gone).delete()[0]
