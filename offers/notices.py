"""What offers put in people's notifications (`notifications.services.notify`): the
party who must answer next hears of it, queued with the change itself. The seller
reads offers on their dashboard, the buyer on their offers page."""

from django.urls import reverse

from bazaar.money import format_money
from notifications.models import Kind
from notifications.services import notify

from .models import Offer

Side = Offer.Side


def _place_of(offer: Offer, side: str) -> tuple[object, str]:
    """(the person on `side`, where they read the offer)."""
    if side == Side.SELLER:
        return offer.item.stall.seller.user, reverse("stalls:dashboard") + "#seller-offers"
    return offer.buyer, reverse("offers:mine")


def offer_notify(offer: Offer, *, event: str, by: str) -> None:
    """After `by` caused `event` on `offer`: tell the other party. Auto prices act for
    the seller, so the seller hears of what they accepted; an auto-decline, a
    decline, a withdrawal or a purchase tells nobody (the page shows it)."""
    amount = format_money(offer.amount_cents, offer.currency)
    title = offer.item.title
    buyer = offer.buyer.handle
    if event == "new":
        to, kind = Side.SELLER, Kind.OFFER_RECEIVED
        news = f"@{buyer} offers {amount} for “{title}”"
    elif event == "countered":
        to, kind = (Side.BUYER if by == Side.SELLER else Side.SELLER), Kind.OFFER_COUNTERED
        news = (
            f"The seller countered with {amount} for “{title}”"
            if by == Side.SELLER
            else f"@{buyer} countered with {amount} for “{title}”"
        )
    elif event == "accepted" and by == Side.SELLER:
        to, kind = Side.BUYER, Kind.OFFER_ACCEPTED
        news = f"Your offer of {amount} for “{title}” was accepted"
    elif event == "accepted":
        to, kind = Side.SELLER, Kind.OFFER_ACCEPTED
        who = "Your auto price accepted" if by == "auto" else f"@{buyer} accepted"
        news = f"{who} {amount} for “{title}”"
    else:
        return
    person, url = _place_of(offer, to)
    notify(person, kind, title=news, body=offer.message, url=url)


def expiring_side(offer: Offer) -> str:
    """Who must act before `offer` runs out: the answering side of a pending one,
    the buyer of an accepted one (who must still pay)."""
    if offer.status == Offer.Status.ACCEPTED:
        return Side.BUYER
    return Side.SELLER if offer.side == Side.BUYER else Side.BUYER


def expiring_dedupe_key(offer: Offer) -> str:
    return f"offer_expiring:{offer.public_id}"


def offer_expiring_notify(offer: Offer) -> None:
    """Warn `expiring_side` that `offer` runs out within the hour; once per offer."""
    amount = format_money(offer.amount_cents, offer.currency)
    if offer.status == Offer.Status.ACCEPTED:
        news = f"Buy “{offer.item.title}” at your accepted {amount} within the hour"
        body = "The unit held for you goes back on sale when the time runs out."
    else:
        news = f"The offer of {amount} for “{offer.item.title}” expires within the hour"
        body = "Answer it before then, or it lapses."
    person, url = _place_of(offer, expiring_side(offer))
    notify(
        person,
        Kind.OFFER_EXPIRING,
        title=news,
        body=body,
        url=url,
        dedupe_key=expiring_dedupe_key(offer),
    )
