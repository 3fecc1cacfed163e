"""Which stalls have their seller present, for the green "live" dot.

The stall room (a later issue) marks a seller present with a heartbeat that
expires, so a crashed connection never leaves a stall looking live. Kept in the
cache (Redis across processes), never in the database.
"""

from django.core.cache import cache

from bazaar.cache import get_many

SELLER_PRESENCE_TTL = 30


def _key(public_id: str) -> str:
    return f"stalls:seller-present:{public_id}"


def seller_presence_beat(*, stall_public_id: str) -> None:
    cache.set(_key(stall_public_id), True, SELLER_PRESENCE_TTL)


def seller_presence_end(*, stall_public_id: str) -> None:
    cache.delete(_key(stall_public_id))


def item_page_presence_keys(item) -> list[str]:
    """What an item page reads for its seller's dot (to read ahead)."""
    return [_key(item.stall.public_id)]


def section_page_presence_keys(cards: list) -> list[str]:
    """What the grid's `live_stall_ids` reads for a section's cards (to read ahead)."""
    return [_key(card["public_id"]) for card in cards if card]


def live_stall_ids(*, public_ids: list[str]) -> set[str]:
    """One cache round trip for a whole section's stalls."""
    if not public_ids:
        return set()
    found = get_many([_key(public_id) for public_id in public_ids])
    return {public_id for public_id in public_ids if _key(public_id) in found}
