"""How offers are published: the stall document's public ladder, and private frames.

Everyone in a stall sees each offer's amount, status and a masked buyer handle in
the document's `offers` array; the message text and the buyer's full handle go
only to the buyer and the seller, on their own sockets (`user_group`).
"""

import json

from pycrdt import Doc, Map

from bazaar.broadcast import broadcast_on_commit, user_group
from bazaar.money import format_money
from stalls.room.document import document_change

from .models import Offer

OFFERS_KEEP = 300


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


def offer_entry_set(doc: Doc, entry: dict) -> None:
    """Update one offer in the document's `offers` array, writing only the keys that
    changed (appended if the array no longer holds it). Searched from the newest end:
    the offers answered are almost always recent ones."""
    offers = doc["offers"]
    for index in range(len(offers) - 1, -1, -1):
        current = offers[index]
        if current["id"] == entry["id"]:
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


def publish(*offers: Offer, event: str, by: str, made: bool = False) -> None:
    """Inside the committing transaction: write the offers into the stall document
    and, after commit, tell the buyer and the seller what happened to the last one.

    `event` is new, countered, accepted, declined, withdrawn, expired or purchased;
    `by` is who caused it: buyer, seller, auto (the seller's auto prices) or market
    (expiry). `made` says the last offer was made in this transaction, so the
    document cannot hold it yet.
    """
    stall = offers[-1].item.stall
    entries = [offer_entry(offer) for offer in offers]

    def change(doc: Doc) -> None:
        for entry in entries[:-1]:
            offer_entry_set(doc, entry)
        (offer_entry_append if made else offer_entry_set)(doc, entries[-1])

    document_change(stall_id=stall.pk, stall_public_id=stall.public_id, change=change)
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
