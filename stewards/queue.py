"""The stewards' one queue: held chat, held photos, reports, appeals and open disputes,
each read through the selectors of the app that owns it, oldest (and overdue) first.

Bulk actions name a kind and a service: the queue page sends the chosen rows and a
note; each row is decided on its own (one lost race does not undo the others) and
what happened to each is said back.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
    """One kind of case: its label and how to read its waiting rows."""

    label: str
    read: Callable[[int], tuple[int, list[Entry]]]


def _chat(limit: int) -> tuple[int, list[Entry]]:
    count, rows = chat_held(limit=limit)
    return count, [
        Entry(
            kind="chat",
            ref=message.public_id,
            title=f"Held chat in “{message.stall.name}”",
            detail=message.text,
            who=f"@{message.author.handle}",
            created_at=message.created_at,
            url=reverse("stalls:detail", args=[message.stall.public_id]),
            extra={"flags": ", ".join(message.flags)},
        )
        for message in rows
    ]


def _photos(limit: int) -> tuple[int, list[Entry]]:
    count, rows = uploads_held(limit=limit)
    return count, [
        Entry(
            kind="photo",
            ref=upload.public_id,
            title=f"Held photo for “{upload.item.title if upload.item_id else upload.stall.name}”",
            detail=f"Screening score {upload.score:.2f} ({upload.backend}): "
            + (", ".join(upload.labels) or "no labels"),
            who=f"@{upload.stall.seller.user.handle}",
            created_at=upload.created_at,
            url=reverse("stalls:detail", args=[upload.stall.public_id]),
            extra={"image_url": reverse("stewards:held_photo", args=[upload.public_id])},
        )
        for upload in rows
    ]


def _disputes(limit: int) -> tuple[int, list[Entry]]:
    count, rows = disputes_open(limit=limit)
    entries = []
    for order in rows:
        answer_due, decision_due = dispute_deadlines(order)
        answered = order.dispute_answer or f"No answer yet (due {answer_due:%d %b %H:%M} UTC)."
        entries.append(
            Entry(
                kind="dispute",
                ref=order.public_id,
                title=f"Dispute on {order} from “{order.stall.name}” "
                f"({format_money(order.total_cents, order.currency)})",
                detail=f"Buyer: {order.dispute_reason}\nSeller: {answered}",
                who=f"@{order.buyer.handle}; decide by {decision_due:%d %b %H:%M} UTC",
                created_at=order.disputed_at,
                due_at=decision_due,
                url=reverse("admin:orders_order_change", args=[order.pk]),
            )
        )
    return count, entries


def _reports(limit: int) -> tuple[int, list[Entry]]:
    count, rows = reports_open(limit=limit)
    return count, [
        Entry(
            kind="report",
            ref=report.public_id,
            title=f"{report.get_target_kind_display()} “{report.target_label}”: "
            f"{report.get_reason_display()}",
            detail=report.details,
            who=f"reported by @{report.reporter.handle}",
            created_at=report.created_at,
            url=report.target_url,
        )
        for report in rows
    ]


def _appeals(limit: int) -> tuple[int, list[Entry]]:
    count, rows = appeals_pending(limit=limit)
    return count, [
        Entry(
            kind="appeal",
            ref=appeal.public_id,
            title=f"Appeal of @{appeal.sanction.user.handle}'s {appeal.sanction}",
            detail=appeal.text,
            who=f"sanction reason: {appeal.sanction.reason}",
            created_at=appeal.created_at,
            url=reverse("admin:governance_chatsanction_change", args=[appeal.sanction.pk]),
        )
        for appeal in rows
    ]


SOURCES: dict[str, Source] = {
    "chat": Source("Held chat", _chat),
    "photo": Source("Held photos", _photos),
    "report": Source("Reports", _reports),
    "appeal": Source("Appeals", _appeals),
    "dispute": Source("Disputes", _disputes),
}


def queue_counts() -> dict[str, int]:
    """How many cases of each kind wait (for the admin's index)."""
    return {kind: source.read(0)[0] for kind, source in SOURCES.items()}


def queue_entries(*, kind: str = "") -> tuple[dict[str, int], list[Entry]]:
    """Counts of every kind, and the waiting cases (of `kind`, if given): overdue
    first, then oldest first."""
    counts, entries = {}, []
    for name, source in SOURCES.items():
        count, rows = source.read(PAGE if kind in ("", name) else 0)
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
    apply: Callable  # (objects: list, actor, note) -> None per object
    load: Callable[[list[str]], list]


def _chat_release(message, actor, note):
    chat_message_release(message=message, actor=actor, reason=note)


def _chat_delete(message, actor, note):
    chat_message_delete(message=message, actor=actor, reason=note)


def _photo(approve: bool):
    def apply(ref, actor, note):
        upload_review(actor=actor, upload_public_id=ref.public_id, approve=approve, reason=note)

    return apply


def _report(acted: bool):
    def apply(report, actor, note):
        report_decide(report=report, actor=actor, acted=acted, outcome=note)

    return apply


def _appeal(grant: bool):
    def apply(appeal, actor, note):
        appeal_decide(appeal=appeal, actor=actor, grant=grant, answer=note)

    return apply


def _refs(refs):
    return [_Ref(ref) for ref in refs]


@dataclass(frozen=True)
class _Ref:
    """A case the service looks up itself, by its public id."""

    public_id: str


def _dispute(refund_all: bool):
    def apply(order, actor, note):
        refund = order.total_cents - order.refunded_cents if refund_all else 0
        order_dispute_settle(actor=actor, order=order, refund_cents=refund, reason=note)

    return apply


def _dispute_load(refs):
    return disputes_by_public_ids(public_ids=refs)


def _chat_load(refs):
    return chat_held_get(public_ids=refs)


def _report_load(refs):
    return reports_by_public_ids(public_ids=refs)


def _appeal_load(refs):
    return appeals_by_public_ids(public_ids=refs)


ACTIONS: dict[str, Action] = {
    "chat_release": Action("chat", "Release held chat messages", False, _chat_release, _chat_load),
    "chat_delete": Action("chat", "Delete chat messages", False, _chat_delete, _chat_load),
    "photo_approve": Action("photo", "Publish held photos", True, _photo(True), _refs),
    "photo_reject": Action(
        "photo", "Refuse held photos (note tells the seller)", True, _photo(False), _refs
    ),
    "report_act": Action(
        "report",
        "Close reports: acted on (note tells the reporter)",
        True,
        _report(True),
        _report_load,
    ),
    "report_dismiss": Action(
        "report",
        "Close reports: no action needed (note tells the reporter)",
        True,
        _report(False),
        _report_load,
    ),
    "dispute_refund": Action(
        "dispute",
        "Disputes: refund the buyer in full (a partial refund: the order's admin page)",
        True,
        _dispute(True),
        _dispute_load,
    ),
    "dispute_release": Action(
        "dispute", "Disputes: release the money to the seller", True, _dispute(False), _dispute_load
    ),
    "appeal_grant": Action(
        "appeal",
        "Grant appeals: lift the sanction (note tells the person)",
        True,
        _appeal(True),
        _appeal_load,
    ),
    "appeal_deny": Action(
        "appeal", "Deny appeals (note tells the person)", True, _appeal(False), _appeal_load
    ),
}


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
    for obj in action.load(refs):
        try:
            action.apply(obj, actor, note)
        except DomainError as error:
            outcome.failed.append(f"{obj.public_id}: {error.message}")
        else:
            outcome.done.append(obj.public_id)
    return outcome
