"""Background work for the watchlist: each task calls one function of `notices`."""

from celery import shared_task

from . import notices


@shared_task
def tell_seller_live(*, stall_id: int) -> int:
    return notices.seller_live_tell(stall_id=stall_id)


@shared_task
def tell_item_listed(*, item_id: int) -> int:
    return notices.item_listed_tell(item_id=item_id)


@shared_task
def tell_price_drop(*, item_id: int, was_cents: int, now_cents: int) -> int:
    return notices.price_drop_tell(item_id=item_id, was_cents=was_cents, now_cents=now_cents)


@shared_task
def tell_auctions_ending() -> int:
    """Beat, every minute: watchers of auctions ending within ten minutes."""
    return notices.auctions_ending_tell()
