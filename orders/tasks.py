"""Background work for orders. Each task takes ids and calls one service."""

from celery import shared_task

from bazaar.jobs import MAIL_RETRY

from .checkout.services import checkouts_expire_due
from .escrow.notify import order_mail_send
from .escrow.services import orders_release_due
from .models import Payment
from .payments.backends import gateway_named
from .payments.gateway import GatewayError
from .payments.services import money_move_send, money_moves_send_due


@shared_task
def send_money_move(move_id: int) -> str | None:
    """Queued after commit when a refund or transfer is decided. A failure is recorded
    on the move; `send_money` (beat) retries it."""
    move = money_move_send(move_id=move_id)
    return move.status if move is not None else None


@shared_task
def send_money() -> int:
    """Beat, every 5 minutes: send refunds and transfers still waiting."""
    return money_moves_send_due()


@shared_task
def release_escrow() -> int:
    """Beat, hourly: release orders shipped long enough ago, then send their payouts."""
    released = orders_release_due()
    money_moves_send_due()
    return released


@shared_task
def expire_checkouts() -> int:
    """Beat, every minute: end checkouts whose session ran out."""
    return checkouts_expire_due()


@shared_task(
    autoretry_for=(GatewayError,), retry_backoff=True, retry_backoff_max=300, max_retries=5
)
def expire_checkout_session(payment_id: int) -> None:
    """A replaced checkout: expire its session at the gateway so it cannot be paid."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is not None and payment.session_id:
        gateway_named(payment.gateway).checkout_session_expire(session_id=payment.session_id)


@shared_task(**MAIL_RETRY)
def send_order_mail(order_id: int, kind: str) -> None:
    """Queued after an order's status changes: the emails for that change."""
    order_mail_send(order_id=order_id, kind=kind)
