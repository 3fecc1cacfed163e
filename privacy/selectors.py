"""A person's own data: what stands in the way of closing their account (promises
still running between them and others: open orders, an auction they must pay for, a
stall), and everything of theirs the market holds, to take away (the export)."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import account_export
from auctions.selectors import auctions_binding_bidder, bids_export
from offers.selectors import offers_export
from orders.escrow.selectors import orders_export, orders_open_for_user
from reviews.selectors import reviews_export
from stalls.selectors import stall_export, stall_for_user
from watchlist.selectors import watchlist_export


def notice_edition() -> date:
    """The day the privacy notice in force was published (its edition)."""
    return date.fromisoformat(settings.PRIVACY_NOTICE_VERSION)


def notice_due(*, user) -> bool:
    """Has this signed-in person yet to see the notice in force? Accounts opened before
    sign-up asked have no edition recorded; everyone is shown a new edition once."""
    return user.is_authenticated and user.privacy_notice_version != settings.PRIVACY_NOTICE_VERSION


@dataclass(frozen=True)
class Blocker:
    text: str
    url: str
    link_text: str


def deletion_blockers(*, user) -> list[Blocker]:
    blockers = []
    for order in orders_open_for_user(user=user):
        side = "you bought from" if order.buyer_id == user.pk else "sold from your stall"
        blockers.append(
            Blocker(
                text=f"An order {side} {order.stall.name} is "
                f"{order.get_status_display().lower()}: it must be released, refunded or "
                "cancelled first.",
                url=reverse("orders:detail", args=[order.public_id]),
                link_text="See the order",
            )
        )
    for auction in auctions_binding_bidder(user=user):
        blockers.append(
            Blocker(
                text=f"You are the highest bidder for “{auction.item.title}”: the auction "
                "must end and be paid first.",
                url=reverse("auctions:detail", args=[auction.public_id]),
                link_text="See the auction",
            )
        )
    stall = stall_for_user(user=user)
    if stall is not None:
        blockers.append(
            Blocker(
                text=f"You run the stall “{stall.name}”. A stall stays open while its "
                "seller has an account: ask a steward to close it first.",
                url=reverse("stalls:detail", args=[stall.public_id]),
                link_text="See your stall",
            )
        )
    return blockers


def account_data_export(*, user) -> dict:
    """Everything the market keeps that is this person's, as its owning apps describe
    it (GDPR article 20; OWASP ASVS V8.3.2): money in cents, times in UTC. Others'
    personal data is left out: a seller gets their sales, not their buyers' addresses."""
    return {
        "exported_at": timezone.now(),
        "account": account_export(user),
        "orders": orders_export(user),
        "offers": offers_export(user),
        "auctions": bids_export(user),
        "selling_and_chat": stall_export(user),
        "reviews": reviews_export(user),
        "watchlist": watchlist_export(user),
    }
