"""How offers are published: the stall document's public ladder, and private frames.

Everyone in a stall sees each offer's amount, status and a masked buyer handle in
the document's `offers` array; the message text and the buyer's full handle go
only to the buyer and the seller, on their own sockets (`user_group`).

The document is written after the offer's transaction commits, in one of its own, so
an action holds its item and offer locks only for its own rows: by the process's one
writer (`LadderWriter`), which puts every action committed meanwhile in one
transaction. The private frames go as soon as the action commits, before the document
is written: they carry the whole entry, and the page they reach reads the offer rows,
not the document, so the other party waits on no document write (issue 15, session
offers5). The offer rows are the truth: a write that fails is queued again as a
job that copies the offers' committed state (`ladder_sync`), and an offer whose
process died before its write is still marked (`Offer.ladder_pending`) and written by
the sweep (`ladder_sync_pending`). Writes for one stall may therefore land out of
order; each entry keeps its `updated_at`, and an older state never overwrites a newer
one.
"""

import json
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from pycrdt import Doc, Map

from bazaar.broadcast import broadcast_now, user_group
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from bazaar.prepared import PreparedUpdate
from stalls.room.document import document_change

from .models import Offer

log = logging.getLogger(__name__)

OFFERS_KEEP = 300
# How far from the newest end a new offer's entry is looked for before it is appended:
# a write that lands late finds its entry there if a later one already added it.
RECENT_ENTRIES = 16
# An offer still marked for the ladder this long after its action was never written:
# its process died after the acknowledgement (a write takes milliseconds).
PENDING_GRACE = timedelta(seconds=30)


def mask_handle(handle: str) -> str:
    """`brassbuyer` -> `b***r`: enough to tell bidders apart, not to name them."""
    return f"{handle[0]}***{handle[-1]}"


def offer_entry(offer: Offer) -> dict:
    """An offer as everyone in the stall sees it (never the message)."""
    return {
        "id": offer.public_id,
        "thread": offer.thread,
        "answers": offer.answers.public_id if offer.answers_id else "",
        "item": offer.item.public_id,
        "side": offer.side,
        "buyer": mask_handle(offer.buyer.handle),
        "amount_cents": offer.amount_cents,
        "currency": offer.currency,
        "amount": format_money(offer.amount_cents, offer.currency),
        "status": offer.status,
        "at": offer.created_at.isoformat(),
        "updated_at": offer.updated_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
    }


def offer_private_entry(offer: Offer) -> dict:
    """What the buyer and the seller see of an offer: the public entry, the message,
    the buyer's handle and the item's title."""
    return {
        **offer_entry(offer),
        "message": offer.message,
        "buyer_handle": offer.buyer.handle,
        "item_title": offer.item.title,
    }


def offer_entry_set(doc: Doc, entry: dict, *, within: int | None = None) -> None:
    """Update one offer in the document's `offers` array, writing only the keys that
    changed, unless it holds a newer state of it (appended if the array no longer
    holds it). Searched from the newest end, all of it or the last `within` entries:
    the offers answered are almost always recent ones."""
    offers = doc["offers"]
    stop = -1 if within is None else max(len(offers) - within, 0) - 1
    for index in range(len(offers) - 1, stop, -1):
        current = offers[index]
        if current["id"] == entry["id"]:
            if current.get("updated_at", "") > entry["updated_at"]:
                return
            for key, value in entry.items():
                if current.get(key) != value:
                    current[key] = value
            return
    offer_entry_append(doc, entry)


def offer_entry_append(doc: Doc, entry: dict) -> None:
    """Add a new offer at the end of the `offers` array. Past OFFERS_KEEP entries the
    oldest finished ones are dropped; live ones stay. (Appending without searching
    matters: reading an entry of the array costs microseconds, and a full stall's
    300 of them cost more than the rest of an offer's request.)"""
    offers = doc["offers"]
    offers.append(Map(entry))
    excess = len(offers) - OFFERS_KEEP
    index = 0
    while excess > 0 and index < len(offers):
        if offers[index]["status"] not in Offer.LIVE:
            del offers[index]
            excess -= 1
        else:
            index += 1


@dataclass(frozen=True)
class LadderWrite:
    """What one committed action puts in its stall's document. `made`: the last entry
    is a new offer's, looked for only among the newest few (its write is the first
    unless a later write about it landed before)."""

    stall_id: int
    stall_public_id: str
    entries: list[dict]
    made: bool = False


def ladder_write(writes: list[LadderWrite]) -> None:
    """Write these entries into their stalls' documents in one transaction, the
    documents locked in stall order (two processes' writers never wait on each other
    in a loop), and unmark the offer states written (`Offer.ladder_pending`). A write
    that fails is queued again as a job that copies the offers' committed state."""
    by_stall: dict[int, list[LadderWrite]] = defaultdict(list)
    for write in writes:
        by_stall[write.stall_id].append(write)
    try:
        with transaction.atomic():
            for stall_id in sorted(by_stall):
                _document_write(by_stall[stall_id])
            _unmark([entry for write in writes for entry in write.entries])
    except Exception:
        log.exception("offer ladder write failed for stalls %s; queued again", sorted(by_stall))
        for stall_id, stall_writes in by_stall.items():
            offer_ids = sorted({e["id"] for write in stall_writes for e in write.entries})
            enqueue_on_commit("offers.tasks.sync_ladder", stall_id=stall_id, offer_ids=offer_ids)


def _document_write(writes: list[LadderWrite]) -> None:
    def change(doc: Doc) -> None:
        for write in writes:
            for entry in write.entries[:-1]:
                offer_entry_set(doc, entry)
            offer_entry_set(doc, write.entries[-1], within=RECENT_ENTRIES if write.made else None)

    first = writes[0]
    document_change(stall_id=first.stall_id, stall_public_id=first.stall_public_id, change=change)


def _written(count: int, *pairs) -> tuple:
    """The offers still marked in the states given, as (public id, updated at) pairs."""
    written = Q()
    for index in range(count):
        written |= Q(public_id=pairs[2 * index], updated_at=pairs[2 * index + 1])
    return Offer.objects.filter(written, ladder_pending=True), {"ladder_pending": False}


# Compiled once per number of entries (`bazaar.prepared`): building the OR of pairs and
# compiling it was a third of the ladder's write (issue 15, session offers6).
_UNMARK = PreparedUpdate(_written)


def _unmark(entries: list[dict]) -> None:
    """The offers whose written state is still their newest are no longer pending (a
    later action's state stays marked until its own write)."""
    pairs = []
    for entry in entries:
        pairs += [entry["id"], parse_datetime(entry["updated_at"])]
    _UNMARK.send(*pairs, shape=(len(entries),))


class LadderWriter:
    """The process's one writer of offer ladders: what actions commit while a write
    is under way waits for it, then goes in one transaction together, whichever their
    stalls (one BEGIN and COMMIT for a burst rather than one per action).

    No thread of its own: the first action to hand over a write while none is under
    way does it, and goes on with whatever arrived meanwhile until nothing is left;
    the others return at once, and their acknowledgements do not wait for the
    document. (A thread of the writer's own, so that no acknowledgement waited for a
    document, cost 0.4-1.2 ms more server CPU per action in the bench and brought the
    round trip nothing: session offers5.) Nothing is lost if the process dies before
    the write: the offer rows are committed and marked (`Offer.ladder_pending`), and
    the sweep writes them.
    """

    def __init__(self, write: Callable[[list[LadderWrite]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._pending: list[LadderWrite] = []
        self._writing = False

    def submit(self, write: LadderWrite) -> None:
        with self._lock:
            self._pending.append(write)
            if self._writing:
                return
            self._writing = True
        try:
            while True:
                with self._lock:
                    batch, self._pending = self._pending, []
                    if not batch:
                        self._writing = False
                        return
                self._write(batch)
        except BaseException:
            with self._lock:
                self._writing = False
            raise


_writer = LadderWriter(ladder_write)


def _fresh_after_fork() -> None:
    """A child forked while its parent was writing would inherit a writer that says a
    write is under way and never ends it: every action would hand over and leave."""
    global _writer
    _writer = LadderWriter(ladder_write)


os.register_at_fork(after_in_child=_fresh_after_fork)


def _writes_from_rows(offers) -> list[LadderWrite]:
    """Each stall's entries as the offers are now (their committed state)."""
    by_stall: dict[int, list[Offer]] = defaultdict(list)
    for offer in offers:
        by_stall[offer.item.stall_id].append(offer)
    return [
        LadderWrite(
            stall_id=stall_id,
            stall_public_id=rows[0].item.stall.public_id,
            entries=[offer_entry(offer) for offer in sorted(rows, key=lambda o: o.pk)],
        )
        for stall_id, rows in by_stall.items()
    ]


def ladder_sync(*, stall_id: int, offer_ids: list[str]) -> None:
    """A ladder write that failed, done again from the offers as they are now."""
    offers = Offer.objects.select_related(*Offer.RELATED).filter(public_id__in=offer_ids)
    if offers:
        ladder_write(_writes_from_rows(offers))


def ladder_sync_pending(*, older_than: timedelta = PENDING_GRACE, limit: int = 500) -> int:
    """Write the offers still marked pending well after their action: their process
    died between the acknowledgement and the write. Returns how many."""
    offers = list(
        Offer.objects.select_related(*Offer.RELATED)
        .filter(ladder_pending=True, updated_at__lte=timezone.now() - older_than)
        .order_by("updated_at")[:limit]
    )
    if offers:
        ladder_write(_writes_from_rows(offers))
    return len(offers)


def publish(*offers: Offer, event: str, by: str, made: bool = False) -> None:
    """Inside the committing transaction: once it commits, tell the buyer and the
    seller what happened to the last offer, and hand the offers to the process's
    writer of the stall document (`LadderWriter`).

    `event` is new, countered, accepted, declined, withdrawn, expired or purchased;
    `by` is who caused it: buyer, seller, auto (the seller's auto prices) or market
    (expiry). `made` says the last offer was made in this transaction.
    """
    stall = offers[-1].item.stall
    subject = offers[-1]
    private = offer_private_entry(subject)
    parties = {
        Offer.Side.BUYER: subject.buyer.public_id,
        Offer.Side.SELLER: stall.seller.user.public_id,
    }
    frames = []
    for role, user_public_id in parties.items():
        frame = {
            "type": "offer",
            "event": event,
            "by": by,
            "role": role,
            "stall": stall.public_id,
            "offer": private,
        }
        frames.append(
            (user_group(user_public_id), {"type": "offer.private", "frame": json.dumps(frame)})
        )
    write = LadderWrite(
        stall_id=stall.pk,
        stall_public_id=stall.public_id,
        entries=[offer_entry(offer) for offer in offers],
        made=made,
    )

    def committed() -> None:
        for group, frame_event in frames:
            broadcast_now(group, frame_event)
        _writer.submit(write)

    transaction.on_commit(committed)
