"""The stewards' one queue: held chat, held photos, reports, appeals and open disputes,
each read through the selectors of the app that owns it, oldest (and overdue) first.

Bulk actions name a kind and a service: the queue page sends the chosen rows and a
note; each row is decided on its own (one lost race does not undo the others) and
what happened to each is said back.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.urls import reverse
from django.utils import timezone

from bazaar.errors import DomainError, Invalid
from bazaar.money import format_money
from governance.reports import appeal_decide, report_decide
from governance.selectors import (
    appeals_by_public_ids,
    appeals_pending,
    reports_by_public_ids,
    reports_open,
)
from orders.escrow.disputes import disputes_by_public_ids, disputes_open
from orders.escrow.selectors import dispute_deadlines
from orders.escrow.services import order_dispute_settle
from stalls.room.chat import chat_message_delete, chat_message_release
from stalls.room.selectors import chat_held, chat_held_get
from stalls.selectors import uploads_held
from stalls.uploads import upload_review

PAGE = 100
# A case waiting longer than this is overdue: it goes to the top, marked.
OVERDUE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class Entry:
    kind: str
    ref: str
    title: str
    detail: str
    who: str
    created_at: datetime
    url: str = ""
    due_at: datetime | None = None
    extra: dict = field(default_factory=dict)

    @property
    def overdue(self) -> bool:
        due = self.due_at or self.created_at + OVERDUE_AFTER
        return due <= timezone.now()

    @property
    def pick(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True)
class Source:
    """One kind of case: its label, how to read its waiting rows (count and the
    oldest `limit`), what a row says in the queue, and how to find rows by public id."""

    label: str
    read: Callable[..., tuple[int, list]]
    describe: Callable[[Any], dict]
    load: Callable[[list[str]], list]

    def entries(self, kind: str, limit: int) -> tuple[int, list[Entry]]:
        """The one place queue entries are built, for every kind."""
        count, rows = self.read(limit=limit)
        return count, [Entry(kind=kind, ref=row.public_id, **self.describe(row)) for row in rows]


def _chat(message) -> dict:
    return {
        "title": f"Held chat in “{message.stall.name}”",
        "detail": message.text,
        "who": f"@{message.author.handle}",
        "created_at": message.created_at,
        "url": reverse("stalls:detail", args=[message.stall.public_id]),
        "extra": {"flags": ", ".join(message.flags)},
    }


def _photo(upload) -> dict:
    if upload.is_evidence:
        title = f"Held evidence photo for the dispute on order {upload.evidence_for}"
        who = f"@{upload.uploader.handle}" if upload.uploader else "a closed account"
        url = reverse("orders:detail", args=[upload.evidence_for])
    else:
        subject = upload.item.title if upload.item_id else upload.stall.name
        title, who = f"Held photo for “{subject}”", f"@{upload.stall.seller.user.handle}"
        url = reverse("stalls:detail", args=[upload.stall.public_id])
    return {
        "title": title,
        "detail": f"Screening score {upload.score:.2f} ({upload.backend}): "
        + (", ".join(upload.labels) or "no labels"),
        "who": who,
        "created_at": upload.created_at,
        "url": url,
        "extra": {"image_url": reverse("stewards:held_photo", args=[upload.public_id])},
    }


def _dispute(order) -> dict:
    answer_due, decision_due = dispute_deadlines(order)
    answered = order.dispute_answer or f"No answer yet (due {answer_due:%d %b %H:%M} UTC)."
    return {
        "title": f"Dispute on {order} from “{order.stall.name}” "
        f"({format_money(order.total_cents, order.currency)})",
        "detail": f"Buyer: {order.dispute_reason}\nSeller: {answered}",
        "who": f"@{order.buyer.handle}; decide by {decision_due:%d %b %H:%M} UTC",
        "created_at": order.disputed_at,
        "due_at": decision_due,
        "url": reverse("orders:detail", args=[order.public_id]),
        "extra": {"settle_url": reverse("admin:orders_order_changelist") + f"?q={order.public_id}"},
    }


def _report(report) -> dict:
    return {
        "title": f"{report.get_target_kind_display()} “{report.target_label}”: "
        f"{report.get_reason_display()}",
        "detail": report.details,
        "who": f"reported by @{report.reporter.handle}",
        "created_at": report.created_at,
        "url": report.target_url,
    }


def _appeal(appeal) -> dict:
    return {
        "title": f"Appeal of @{appeal.sanction.user.handle}'s {appeal.sanction}",
        "detail": appeal.text,
        "who": f"sanction reason: {appeal.sanction.reason}",
        "created_at": appeal.created_at,
        "url": reverse("admin:governance_chatsanction_change", args=[appeal.sanction.pk]),
    }


@dataclass(frozen=True)
class _Ref:
    """A case the service looks up itself, by its public id."""

    public_id: str


def _refs(public_ids: list[str]) -> list[_Ref]:
    return [_Ref(public_id) for public_id in public_ids]


SOURCES: dict[str, Source] = {
    "chat": Source("Held chat", chat_held, _chat, chat_held_get),
    "photo": Source("Held photos", uploads_held, _photo, _refs),
    "report": Source("Reports", reports_open, _report, reports_by_public_ids),
    "appeal": Source("Appeals", appeals_pending, _appeal, appeals_by_public_ids),
    "dispute": Source("Disputes", disputes_open, _dispute, disputes_by_public_ids),
}


def queue_counts() -> dict[str, int]:
    """How many cases of each kind wait (for the admin's index)."""
    return {kind: source.read(limit=0)[0] for kind, source in SOURCES.items()}


def queue_entries(*, kind: str = "") -> tuple[dict[str, int], list[Entry]]:
    """Counts of every kind, and the waiting cases (of `kind`, if given): overdue
    first, then oldest first."""
    counts, entries = {}, []
    for name, source in SOURCES.items():
        count, rows = source.entries(name, PAGE if kind in ("", name) else 0)
        counts[name] = count
        entries.extend(rows)
    entries.sort(key=lambda entry: (not entry.overdue, entry.created_at))
    return counts, entries


# Bulk actions


@dataclass(frozen=True)
class Action:
    kind: str
    label: str
    needs_note: bool
    apply: Callable  # (case, actor, note) -> None, for each case on its own


def _chat_release(message, actor, note):
    chat_message_release(message=message, actor=actor, reason=note)


def _chat_delete(message, actor, note):
    chat_message_delete(message=message, actor=actor, reason=note)


def _photo_decide(ref, actor, note, *, approve: bool):
    upload_review(actor=actor, upload_public_id=ref.public_id, approve=approve, reason=note)


def _report_decide(report, actor, note, *, acted: bool):
    report_decide(report=report, actor=actor, acted=acted, outcome=note)


def _appeal_decide(appeal, actor, note, *, grant: bool):
    appeal_decide(appeal=appeal, actor=actor, grant=grant, answer=note)


def _dispute_settle(order, actor, note, *, refund_all: bool):
    refund = order.total_cents - order.refunded_cents if refund_all else 0
    order_dispute_settle(actor=actor, order=order, refund_cents=refund, reason=note)


ACTIONS: dict[str, Action] = {
    "chat_release": Action("chat", "Release held chat messages", False, _chat_release),
    "chat_delete": Action("chat", "Delete chat messages", False, _chat_delete),
    "photo_approve": Action(
        "photo", "Publish held photos", True, partial(_photo_decide, approve=True)
    ),
    "photo_reject": Action(
        "photo",
        "Refuse held photos (note tells the uploader)",
        True,
        partial(_photo_decide, approve=False),
    ),
    "report_act": Action(
        "report",
        "Close reports: acted on (note tells the reporter)",
        True,
        partial(_report_decide, acted=True),
    ),
    "report_dismiss": Action(
        "report",
        "Close reports: no action needed (note tells the reporter)",
        True,
        partial(_report_decide, acted=False),
    ),
    "dispute_refund": Action(
        "dispute",
        "Disputes: refund the buyer in full (note on the timeline; a partial refund: the "
        "order's admin page)",
        True,
        partial(_dispute_settle, refund_all=True),
    ),
    "dispute_release": Action(
        "dispute",
        "Disputes: release the money to the seller (note on the timeline)",
        True,
        partial(_dispute_settle, refund_all=False),
    ),
    "appeal_grant": Action(
        "appeal",
        "Grant appeals: lift the sanction (note tells the person)",
        True,
        partial(_appeal_decide, grant=True),
    ),
    "appeal_deny": Action(
        "appeal",
        "Deny appeals (note tells the person)",
        True,
        partial(_appeal_decide, grant=False),
    ),
}


def moves_money(action_name: str) -> bool:
    """Does this action settle disputes (refund or release)? It asks for a fresh second
    step first (accounts.second_factor_views.step_up)."""
    action = ACTIONS.get(action_name)
    return action is not None and action.kind == "dispute"


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0


def queue_act(*, actor, action_name: str, picks: list[str], note: str) -> Outcome:
    """Apply one bulk action to the picked cases of its kind; others are skipped."""
    action = ACTIONS.get(action_name)
    if action is None:
        raise Invalid("Choose what to do with the chosen cases.")
    refs = [pick.split(":", 1)[1] for pick in picks if pick.startswith(f"{action.kind}:")]
    if not refs:
        raise Invalid(f"Tick at least one case of the kind “{SOURCES[action.kind].label}”.")
    if action.needs_note and not note.strip():
        raise Invalid("Write the note first: the people concerned read it.")
    outcome = Outcome(skipped=len(picks) - len(refs))
    for obj in SOURCES[action.kind].load(public_ids=refs):
        try:
            action.apply(obj, actor, note)
        except DomainError as error:
            outcome.failed.append(f"{obj.public_id}: {error.message}")
        else:
            outcome.done.append(obj.public_id)
    return outcome
