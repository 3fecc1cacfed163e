"""Background work for offers. Each task calls one service."""

from celery import shared_task

from .ladder import ladder_sync, ladder_sync_pending
from .services import offers_expire_due, offers_warn_expiring


@shared_task
def expire_offers() -> int:
    """Beat, every minute: expire offers and counters whose 48 hours (or an accepted
    offer's 24) ran out, releasing the units accepted ones held."""
    return offers_expire_due()


@shared_task
def warn_expiring_offers() -> int:
    """Beat, every five minutes: warn whoever must act on an offer running out within
    the hour."""
    return offers_warn_expiring()


@shared_task
def sync_ladder(*, stall_id: int, offer_ids: list[str]) -> None:
    """After a failed write of the stall document's offer ladder: write these offers
    again as they are now."""
    ladder_sync(stall_id=stall_id, offer_ids=offer_ids)


@shared_task
def sync_pending_ladders() -> int:
    """Beat, every minute: write into the stall documents the offers whose process
    died between an action's acknowledgement and its ladder write."""
    return ladder_sync_pending()
