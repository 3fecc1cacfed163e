"""Emails about an auction, sent through Django's mail once the change has committed."""

from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from bazaar.money import format_money


def second_chance_mail_on_commit(*, auction) -> None:
    """Tell the runner-up the item is theirs to buy for 24 hours: without this they
    would only learn it by chance, on the auction's page. Robust: a mail outage never
    undoes the offer."""
    transaction.on_commit(partial(_second_chance_send, auction_id=auction.pk), robust=True)


def _second_chance_send(*, auction_id: int) -> None:
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
