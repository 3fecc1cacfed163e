"""The flash auction over the stall (`auctions.flash`): the panel everyone in the
stall sees, refreshed when the stall room says a flash auction started, and the
seller's form in their stall. Thin: parse, call a service, render."""

import time

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from bazaar.errors import DomainError, NotAllowed
from bazaar.idempotency import key_from_request
from orders.checkout.selectors import shipping_address_for
from orders.payments.selectors import buyer_has_payment_method
from stalls.models import Stall
from stalls.selectors import stall_get

from .flash import flash_auction_shown, flash_auction_start
from .flash_forms import FlashAuctionForm
from .frames import auction_state
from .rules import increment_bands
from .selectors import bids_recent, items_to_auction

BIDS_SHOWN = 3


def overlay_context(*, user, stall: Stall) -> dict:
    """What the flash-auction panel over the stall shows this person."""
    auction = flash_auction_shown(stall=stall)
    if auction is None:
        return {"stall": stall, "auction": None}
    is_seller = user.is_authenticated and auction.seller_id == user.pk
    can_bid = user.is_authenticated and not is_seller
    return {
        "stall": stall,
        "auction": auction,
        "item": auction.item,
        "state": auction_state(auction),
        "server_time": time.time(),
        "bands": increment_bands(auction.currency),
        "bids": bids_recent(auction=auction, limit=BIDS_SHOWN),
        "is_seller": is_seller,
        "can_bid": can_bid,
        "ready_to_bid": can_bid
        and buyer_has_payment_method(user=user)
        and shipping_address_for(buyer=user) is not None,
    }


def tools_context(*, stall: Stall, form: FlashAuctionForm | None = None, **extra) -> dict:
    items = items_to_auction(stall=stall)
    return {
        "stall": stall,
        "items": items,
        "form": form or FlashAuctionForm(items=items),
        **extra,
    }


@require_GET
def flash_overlay(request: HttpRequest, public_id: str) -> HttpResponse:
    stall = stall_get(public_id=public_id)
    context = overlay_context(user=request.user, stall=stall)
    return render(request, "auctions/_flash_overlay.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def flash_tools(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the seller's flash-auction form. POST: start one; a refusal is shown in
    place, above the form."""
    stall = stall_get(public_id=public_id)
    if stall.seller.user_id != request.user.pk:
        raise NotAllowed("Only the stall's seller can start flash auctions here.")
    if request.method == "GET":
        return render(request, "auctions/_flash_tools.html", tools_context(stall=stall))
    items = items_to_auction(stall=stall)
    form = FlashAuctionForm(request.POST, items=items)
    if form.is_valid():
        try:
            auction = flash_auction_start(
                actor=request.user,
                item=next(i for i in items if i.public_id == form.cleaned_data["item"]),
                idempotency_key=key_from_request(request),
                **form.flash_fields(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            notice = f"Your flash auction of “{auction.item.title}” is live."
            context = tools_context(stall=stall, notice=notice)
            return render(request, "auctions/_flash_tools.html", context)
    context = tools_context(stall=stall, form=form)
    return render(request, "auctions/_flash_tools.html", context, status=400)
