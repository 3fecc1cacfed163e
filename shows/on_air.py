"""Which stalls are streaming, for the pages that show it (grid cards, the stall page):
a fast copy in the cache of what the database says, written after each commit that
changes a show and refreshed by the seller's heartbeat. Like the seller's presence
dot, an entry expires when the seller goes silent, so a vanished seller never leaves
a stall looking live; a flushed cache heals at the next heartbeat."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from bazaar.cache import get_many

from .models import Show


def _key(stall_public_id: str) -> str:
    return f"shows:on-air:{stall_public_id}"


def on_air_publish(show: Show) -> None:
    """After commit: the show's card as pages render it, or its removal once ended."""
    key = _key(show.stall.public_id)
    if not show.live:
        transaction.on_commit(lambda: cache.delete(key))
        return
    entry = {
        "show": show.public_id,
        "backend": show.backend,
        "title": show.title,
        "watching": show.viewer_count,
        "started_at": show.started_at.isoformat(),
    }
    transaction.on_commit(lambda: cache.set(key, entry, settings.SHOW_TIMEOUT_SECONDS))


def on_air_keys(stall) -> list[str]:
    """What `on_air` reads for one stall's page (which reads it ahead)."""
    return [_key(stall.public_id)]


def section_on_air_keys(cards: list) -> list[str]:
    """What `on_air` reads for a section's cards (the grid reads it ahead)."""
    return [_key(card["public_id"]) for card in cards if card]


def on_air(*, stall_public_ids: list[str]) -> dict[str, dict]:
    """One cache round trip for a whole section: {stall public id: entry}."""
    if not stall_public_ids:
        return {}
    found = get_many([_key(public_id) for public_id in stall_public_ids])
    return {
        public_id: found[_key(public_id)]
        for public_id in stall_public_ids
        if _key(public_id) in found
    }
