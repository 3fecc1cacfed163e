"""Emails about an auction, sent by a background job once the change has committed:
a slow or absent mail server never delays or undoes the auction's change."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from bazaar.jobs import enqueue_on_commit
from bazaar.money import format_money


def second_chance_mail_on_commit(*, auction) -> None:
    """Tell the runner-up the item is theirs to buy for 24 hours: without this they
    would only learn it by chance, on the auction's page."""
    enqueue_on_commit("auctions.tasks.send_second_chance_mail", auction_id=auction.pk)


def second_chance_mail_send(*, auction_id: int) -> None:
    from .models import Auction

    auction = Auction.objects.select_related("winner", "item").get(pk=auction_id)
    link = settings.SITE_URL.rstrip("/") + reverse("auctions:detail", args=[auction.public_id])
    send_mail(
        subject=f"“{auction.item.title}” can still be yours",
        message=render_to_string(
            "auctions/emails/second_chance.txt",
            {
                "auction": auction,
                "price": format_money(auction.final_price_cents, auction.currency),
                "link": link,
            },
        ),
        from_email=None,
        recipient_list=[auction.winner.email],
    )


def payment_declined_mail_on_commit(*, auction, reason: str) -> None:
    """Tell the winner whose card was declined at the close: nobody else is told who
    it was, and without this they would never know why the item is not coming."""
    enqueue_on_commit(
        "auctions.tasks.send_payment_declined_mail", auction_id=auction.pk, reason=reason
    )


def payment_declined_mail_send(*, auction_id: int, reason: str) -> None:
    from .models import Auction

    auction = Auction.objects.select_related("declined_bidder", "item").get(pk=auction_id)
    site = settings.SITE_URL.rstrip("/")
    send_mail(
        subject=f"Your payment for “{auction.item.title}” did not go through",
        message=render_to_string(
            "auctions/emails/payment_declined.txt",
            {
                "auction": auction,
                "reason": reason,
                "offered": auction.status == auction.Status.ENDED,
                "link": site + reverse("auctions:detail", args=[auction.public_id]),
                "card_link": site + reverse("orders:account"),
            },
        ),
        from_email=None,
        recipient_list=[auction.declined_bidder.email],
    )
