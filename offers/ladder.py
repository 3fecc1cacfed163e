"""How offers are published: the stall document's public ladder, and private frames.

Everyone in a stall sees each offer's amount, status and a masked buyer handle in
the document's `offers` array; the message text and the buyer's full handle go
only to the buyer and the seller, on their own sockets (`user_group`).

The document is written after the offer's transaction commits, in one of its own, so
an action holds its item and offer locks only for its own rows. The offer rows are the
truth: a write that fails is queued again as a job that copies the offers' committed
state (`ladder_sync`). Writes for one stall may therefore land out of order; each
entry keeps its `updated_at`, and an older state never overwrites a newer one.
"""

import json
import logging

from django.db import transaction
from pycrdt import Doc, Map

from bazaar.broadcast import broadcast_on_commit, user_group
from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from stalls.room.document import document_change

from .models import Offer

log = logging.getLogger(__name__)

OFFERS_KEEP = 300
# How far from the newest end a new offer's entry is looked for before it is appended:
# a write that lands late finds its entry there if a later one already added it.
RECENT_ENTRIES = 16


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


def ladder_write(*, stall_id: int, stall_public_id: str, entries: list[dict], made: bool) -> None:
    """Write offers' entries into the stall document, in a transaction of its own.
    `made`: the last entry is a new offer's, looked for only among the newest few
    (its write is the first unless a later write about it landed before)."""

    def change(doc: Doc) -> None:
        for entry in entries[:-1]:
            offer_entry_set(doc, entry)
        offer_entry_set(doc, entries[-1], within=RECENT_ENTRIES if made else None)

    with transaction.atomic():
        document_change(stall_id=stall_id, stall_public_id=stall_public_id, change=change)


def ladder_sync(*, stall_id: int, offer_ids: list[str]) -> None:
    """A ladder write that failed, done again from the offers as they are now."""
    offers = Offer.objects.select_related(*Offer.RELATED).filter(public_id__in=offer_ids)
    if not offers:
        return
    stall = offers[0].item.stall
    entries = [offer_entry(offer) for offer in sorted(offers, key=lambda o: o.public_id)]
    ladder_write(stall_id=stall_id, stall_public_id=stall.public_id, entries=entries, made=False)


def publish(*offers: Offer, event: str, by: str, made: bool = False) -> None:
    """Inside the committing transaction: once it commits, write the offers into the
    stall document and tell the buyer and the seller what happened to the last one.

    `event` is new, countered, accepted, declined, withdrawn, expired or purchased;
    `by` is who caused it: buyer, seller, auto (the seller's auto prices) or market
    (expiry). `made` says the last offer was made in this transaction.
    """
    stall = offers[-1].item.stall
    entries = [offer_entry(offer) for offer in offers]

    def write_ladder() -> None:
        try:
            ladder_write(
                stall_id=stall.pk, stall_public_id=stall.public_id, entries=entries, made=made
            )
        except Exception:
            log.exception("offer ladder write failed for stall %s; queued again", stall.pk)
            offer_ids = [entry["id"] for entry in entries]
            enqueue_on_commit("offers.tasks.sync_ladder", stall_id=stall.pk, offer_ids=offer_ids)

    # Before the private frames: whoever hears of an offer finds it in the document.
    transaction.on_commit(write_ladder)
    subject = offers[-1]
    private = offer_private_entry(subject)
    parties = {
        Offer.Side.BUYER: subject.buyer.public_id,
        Offer.Side.SELLER: stall.seller.user.public_id,
    }
    for role, user_public_id in parties.items():
        frame = {
            "type": "offer",
            "event": event,
            "by": by,
            "role": role,
            "stall": stall.public_id,
            "offer": private,
        }
        broadcast_on_commit(
            user_group(user_public_id), {"type": "offer.private", "frame": json.dumps(frame)}
        )
