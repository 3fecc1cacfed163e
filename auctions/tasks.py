"""Background work for auctions. Each task calls one service."""

from celery import shared_task

from bazaar.jobs import MAIL_RETRY

from .notices import outbid_notify
from .notify import payment_declined_mail_send, second_chance_mail_send
from .services.closing import auctions_sweep


@shared_task
def sweep_auctions() -> dict[str, int]:
    """Beat, every second: open, close, charge and expire what is due (see the service)."""
    return auctions_sweep()


@shared_task
def notify_outbid(auction_id: int, user_ids: list[int], price_cents: int) -> None:
    outbid_notify(auction_id=auction_id, user_ids=user_ids, price_cents=price_cents)


@shared_task(**MAIL_RETRY)
def send_second_chance_mail(auction_id: int) -> None:
    second_chance_mail_send(auction_id=auction_id)


@shared_task(**MAIL_RETRY)
def send_payment_declined_mail(auction_id: int, reason: str) -> None:
    payment_declined_mail_send(auction_id=auction_id, reason=reason)
