"""What stands in the way of closing an account: promises still running between
this person and others (open orders, an auction they must pay for, a stall)."""

from dataclasses import dataclass

from django.urls import reverse

from auctions.selectors import auctions_binding_bidder
from orders.escrow.selectors import orders_open_for_user
from stalls.selectors import stall_for_user


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
