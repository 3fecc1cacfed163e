"""What auctions tell people in their notifications (`notifications.services.notify`),
queued with the change that caused it: a rolled-back bid or close tells nobody."""

from django.contrib.auth import get_user_model
from django.urls import reverse

from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money
from notifications.models import Kind
from notifications.services import notify

from .models import Auction


def _link(auction: Auction) -> str:
    return reverse("auctions:detail", args=[auction.public_id])


def outbid_notify_on_commit(*, auction: Auction, outbid: set[int]) -> None:
    """Once the bids commit, tell those who lost the lead to someone else's bid (not
    to their own proxy): by a job, so that a hot auction's lock waits for nobody's
    notice. The price they are told is the one that outbid them."""
    if outbid:
        enqueue_on_commit(
            "auctions.tasks.notify_outbid",
            auction_id=auction.pk,
            user_ids=sorted(outbid),
            price_cents=auction.price_cents,
        )


def outbid_notify(*, auction_id: int, user_ids: list[int], price_cents: int) -> None:
    auction = Auction.objects.select_related("item").get(pk=auction_id)
    title = auction.item.title
    for person in get_user_model().objects.filter(pk__in=user_ids).order_by("pk"):
        notify(
            person,
            Kind.OUTBID,
            title=f"You were outbid on “{title}”",
            body=f"The price is now {format_money(price_cents, auction.currency)}. "
            "Bid again before it ends.",
            url=_link(auction),
        )


def closed_notify(*, auction: Auction) -> None:
    """At the close, every bidder but the winner (who hears once their card is
    charged: `won_notify`), once each."""
    title = auction.item.title
    if auction.winner_id:
        price = format_money(auction.final_price_cents, auction.currency)
        news = f"“{title}” ended: the winning bid was {price}"
    else:
        news = f"“{title}” ended unsold: the reserve was not met"
    losers = (
        get_user_model()
        .objects.filter(pk__in=auction.bids.values("bidder_id"))
        .exclude(pk=auction.winner_id)
        .order_by("pk")
    )
    for loser in losers:
        notify(
            loser,
            Kind.AUCTION_LOST,
            title=news,
            url=_link(auction),
            dedupe_key=f"auction_lost:{auction.public_id}",
        )


def won_notify(*, auction: Auction, order_public_id: str) -> None:
    """The winner, once the sweep has charged their card: not at the close, when a
    declined card would follow "you won" with "your payment failed"."""
    price = format_money(auction.final_price_cents, auction.currency)
    notify(
        auction.winner,
        Kind.AUCTION_WON,
        title=f"You won “{auction.item.title}” at {price}",
        body="We charged your saved card; the seller ships to your address.",
        url=reverse("orders:detail", args=[order_public_id]),
        dedupe_key=f"auction_won:{auction.public_id}",
    )
