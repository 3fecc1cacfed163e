"""Reads for payments, payouts, saved cards and the test gateway's pages, scoped to
who is asking."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, QuerySet, Sum
from django.db.models.functions import Coalesce

from bazaar.errors import NotFound
from bazaar.lookups import AnyOf
from stalls.models import Stall

from ..escrow.selectors import stall_shipping_cents
from ..models import MoneyMove, Order, Payment, PayoutAccount, SavedCard, TestGatewayObject

# Saved cards


def saved_card_for(*, buyer) -> SavedCard | None:
    return SavedCard.objects.filter(buyer=buyer).first()


def buyer_has_payment_method(*, user) -> bool:
    """A saved card to charge without the buyer present (auctions ask this)."""
    if not user.is_authenticated:
        return False
    return SavedCard.objects.filter(buyer=user).exclude(payment_method_id="").exists()


def buyers_with_payment_method(*, user_ids: set[int]) -> QuerySet:
    """Which of these people have a saved card to charge without them present, as a
    query of their `buyer_id`s not yet run: auctions ask it for a whole batch of
    bidders, in the same statement as their other questions."""
    cards = SavedCard.objects.filter(AnyOf(F("buyer_id"), user_ids)).exclude(payment_method_id="")
    return cards.values_list("buyer_id", flat=True)


# Payments


def payment_for_buyer(*, buyer, public_id: str) -> Payment:
    payment = Payment.objects.filter(public_id=public_id, buyer_id=buyer.pk).first()
    if payment is None:
        raise NotFound("No payment of yours has that address.")
    return payment


def orders_of_payment(*, payment: Payment) -> QuerySet[Order]:
    """The payment page's list: each order's stall, status and total."""
    return payment.orders.select_related("stall")


# Payouts


@dataclass(frozen=True)
class PayoutOverview:
    account: PayoutAccount | None
    shipping_cents: int
    fee_percent: str
    waiting_cents: int
    open_orders: int


def payout_overview(*, stall: Stall) -> PayoutOverview:
    """The seller's payouts panel on the dashboard (`stall`: the viewer's own, from
    `stall_for_user`): account, fee, shipping, and how much released money waits for
    a payouts account."""
    waiting = MoneyMove.objects.filter(
        order__stall=stall,
        kind=MoneyMove.Kind.TRANSFER,
        status__in=[MoneyMove.Status.PENDING, MoneyMove.Status.FAILED],
    ).aggregate(total=Coalesce(Sum("amount_cents"), 0))["total"]
    return PayoutOverview(
        account=PayoutAccount.objects.filter(seller_id=stall.seller_id).first(),
        shipping_cents=stall_shipping_cents(stall=stall),
        fee_percent=settings.PLATFORM_FEE_PERCENT,
        waiting_cents=waiting,
        open_orders=Order.objects.filter(
            stall=stall, status__in=[Order.Status.PAID_ESCROW, Order.Status.DISPUTED]
        ).count(),
    )


# The test gateway's pages


def test_session_for_user(*, user, session_id: str) -> dict:
    """A test-gateway session this user may pay (their checkout) or use to save a
    card (their customer record); anyone else gets 404."""
    found = TestGatewayObject.objects.filter(object_id=session_id, kind="checkout.session").first()
    session = found.data if found else {}
    if session.get("mode") == "payment":
        owns = Payment.objects.filter(session_id=session_id, buyer_id=user.pk).exists()
    else:
        owns = (
            bool(session)
            and SavedCard.objects.filter(customer_id=session["customer"], buyer_id=user.pk).exists()
        )
    if not owns:
        raise NotFound("No checkout of yours has that address.")
    return session


def test_account_for_user(*, user, account_id: str) -> PayoutAccount:
    account = PayoutAccount.objects.filter(
        account_id=account_id, gateway="test", seller__user_id=user.pk
    ).first()
    if account is None:
        raise NotFound("No payouts account of yours has that address.")
    return account
