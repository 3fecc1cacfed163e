"""Auction pages, bids and the seller's auction panel. Thin: parse, call a service, answer.

Money actions answer three kinds of client: `fetch` with `Accept: application/json`
gets JSON (refusals too, with their 4xx status and the auction's current state),
HTMX gets a fragment, a plain form post is redirected back with a message.
"""

import time
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bazaar.errors import DomainError, Invalid, NotFound
from bazaar.idempotency import key_from_request, key_in_request
from bazaar.money import AmountError, parse_amount
from orders.checkout.selectors import shipping_address_for
from orders.payments.selectors import buyer_has_payment_method
from stalls.selectors import stall_for_user

from . import selectors
from .forms import AuctionStartForm
from .frames import auction_state, bid_entry, pseudonym
from .models import Auction, BidRetraction
from .rules import increment_bands
from .services.bidding import auction_buy_now, bid_place
from .services.retraction import bid_retract
from .services.second_chance import second_chance_accept, second_chance_decline
from .services.starting import auction_cancel, auction_start


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _amount(request: HttpRequest, field: str, auction: Auction) -> int | None:
    text = request.POST.get(field, "").strip()
    if not text:
        return None
    try:
        return parse_amount(text, auction.currency)
    except AmountError as error:
        raise Invalid(str(error), code="amount") from error


def _answer(request: HttpRequest, auction: Auction, message: str, extra=None) -> HttpResponse:
    """A money action went through: JSON, an HTMX fragment, or back to the page."""
    if _wants_json(request):
        return JsonResponse(
            {"ok": True, "message": message, "state": auction_state(auction)} | (extra or {})
        )
    if request.htmx:
        return render(request, "auctions/_result.html", {"message": message})
    messages.success(request, message)
    return redirect("auctions:detail", auction.public_id)


def _refuse(request: HttpRequest, public_id: str, error: DomainError) -> HttpResponse:
    """A refusal: JSON clients get the reason and the state to retry from (the one a
    bid batch refused against, else read now); others get the usual error page or
    fragment (bazaar.errors' middleware)."""
    if not _wants_json(request):
        raise error
    body = {"ok": False, "code": error.code, "message": error.message}
    auction = getattr(error, "auction", None) or selectors.auction_for_state(public_id=public_id)
    if auction is not None:
        body["state"] = auction_state(auction)
    return JsonResponse(body, status=error.status)


def _detail(request: HttpRequest, public_id: str, *, retract_error: str = "", status=200):
    auction = selectors.auction_get(public_id=public_id)
    user = request.user
    is_seller = user.is_authenticated and auction.seller_id == user.pk
    can_bid = user.is_authenticated and not is_seller
    return render(
        request,
        "auctions/detail.html",
        {
            "auction": auction,
            "item": auction.item,
            "photo": auction.item.photos.first(),
            "state": auction_state(auction),
            "server_time": time.time(),
            "bands": increment_bands(auction.currency),
            "bids": selectors.bids_recent(auction=auction),
            "retractions": selectors.retractions_shown(auction=auction),
            "is_seller": is_seller,
            "can_bid": can_bid,
            "you_as": pseudonym(auction, user.pk) if user.is_authenticated else "",
            "can_retract": can_bid and selectors.can_retract(auction=auction, user=user),
            "retract_reasons": BidRetraction.Reason.choices,
            "retract_error": retract_error,
            "has_payment_method": can_bid and buyer_has_payment_method(user=user),
            "has_address": can_bid and shipping_address_for(buyer=user) is not None,
            "part": selectors.viewer_part(auction=auction, user=user),
        },
        status=status,
    )


@require_GET
def auction_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return _detail(request, public_id)


@login_required
@require_POST
def retract(request: HttpRequest, public_id: str) -> HttpResponse:
    """Take back one's bid(s); a refusal is shown beside the form, on the page."""
    try:
        auction = selectors.auction_ref(public_id=public_id)
        key_from_request(request)
        retraction = bid_retract(
            bidder=request.user, auction=auction, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        if _wants_json(request):
            return _refuse(request, public_id, error)
        return _detail(request, public_id, retract_error=error.message, status=error.status)
    count = retraction.bids.count()
    if count == 1:
        message = "your bid is withdrawn; the high bid stands as if it had never been placed."
    else:
        message = f"your {count} bids are withdrawn; the high bid stands as if they had not been."
    message = f"Retracted: {message}"
    return _answer(request, retraction.auction, message)


def _your_part(request: HttpRequest, public_id: str, *, notice="", error="", status=200):
    """The page's private panel: what this person alone is told about the auction."""
    auction = selectors.auction_get(public_id=public_id)
    context = {
        "auction": auction,
        "item": auction.item,
        "part": selectors.viewer_part(auction=auction, user=request.user),
        "notice": notice,
        "error": error,
    }
    return render(request, "auctions/_you.html", context, status=status)


@login_required
@require_GET
def your_part(request: HttpRequest, public_id: str) -> HttpResponse:
    """htmx: the private panel again, after a change the socket announced."""
    return _your_part(request, public_id)


@login_required
@require_GET
def my_bids(request: HttpRequest) -> HttpResponse:
    """Where each of the signed-in person's bids stands: live ones, then past ones."""
    bids = selectors.bids_of_bidder(user=request.user)
    return render(
        request,
        "auctions/mine.html",
        {"live": [b for b in bids if b.live], "past": [b for b in bids if not b.live]},
    )


@require_POST
def bid_create(request: HttpRequest, public_id: str) -> HttpResponse:
    arrived_at = timezone.now()  # before anything waits: this decides if the bid counted
    try:
        auction = selectors.auction_ref(public_id=public_id)
        key = key_from_request(request)
        amount = _amount(request, "amount", auction)
        outcome = bid_place(
            bidder=request.user,
            auction=auction,
            amount_cents=amount or 0,
            max_cents=_amount(request, "max", auction),
            idempotency_key=key,
            arrived_at=arrived_at,
        )
    except DomainError as error:
        return _refuse(request, public_id, error)
    bid = outcome.bid
    return _answer(
        request,
        outcome.auction,
        outcome.message,
        {
            "bid": bid_entry(bid, outcome.auction),
            "leading": bid.leading,
            "version": outcome.version,
        },
    )


@login_required
@require_POST
def buy_now(request: HttpRequest, public_id: str) -> HttpResponse:
    arrived_at = timezone.now()
    try:
        auction = selectors.auction_ref(public_id=public_id)
        key_from_request(request)
        auction = auction_buy_now(buyer=request.user, auction=auction, arrived_at=arrived_at)
    except DomainError as error:
        return _refuse(request, public_id, error)
    return _answer(request, auction, _purchase_message(auction))


def _purchase_message(auction: Auction) -> str:
    if auction.status == Auction.Status.SETTLED:
        return "It's yours: paid into escrow. The seller has been told to ship."
    return "Taking your payment…"


@login_required
@require_POST
def second_chance(request: HttpRequest, public_id: str, answer: str) -> HttpResponse:
    """The runner-up accepts (and is charged) or declines the second-chance offer;
    with htmx, the outcome (or the refusal, a declined card say) shows in their panel."""
    try:
        auction = selectors.auction_ref(public_id=public_id)
        key_from_request(request)
        if answer == "accept":
            auction = second_chance_accept(buyer=request.user, auction=auction)
            message = _purchase_message(auction)
        else:
            auction = second_chance_decline(buyer=request.user, auction=auction)
            message = "You declined the offer."
    except DomainError as error:
        if request.htmx:
            return _your_part(request, public_id, error=error.message, status=error.status)
        return _refuse(request, public_id, error)
    if request.htmx:
        return _your_part(request, public_id, notice=message)
    return _answer(request, auction, message)


# The seller's panel on the stall dashboard (htmx), also a page of its own


def _panel(
    request: HttpRequest,
    form: AuctionStartForm | None = None,
    *,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    """The start form and the seller's recent auctions, with a refusal's reason."""
    stall = stall_for_user(user=request.user)
    if stall is None:
        raise NotFound("Open your stall before running auctions.")
    items = selectors.items_to_auction(stall=stall)
    return render(
        request,
        "auctions/_dashboard.html" if request.htmx else "auctions/dashboard.html",
        {
            "form": form or AuctionStartForm(items=items),
            "items": items,
            "auctions": selectors.auctions_for_seller(user=request.user),
            "notice": notice,
            "error": error,
        },
        status=status,
    )


def _started(auction: Auction) -> str:
    return f"Your auction of “{auction.item.title}” is up."


def _seller_done(request: HttpRequest, notice: str) -> HttpResponse:
    if request.htmx:
        return _panel(request, notice=notice)
    messages.success(request, notice)
    return redirect("auctions:dashboard")


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_panel(request: HttpRequest) -> HttpResponse:
    """GET: the auctions panel. POST: start an auction."""
    if request.method == "GET":
        return _panel(request)
    stall = stall_for_user(user=request.user)
    items = selectors.items_to_auction(stall=stall) if stall else []
    # Asked after the items are read: a first request that commits in between is found
    # here, not taken for the unit being gone. Its repeat (a double click, a retry) gets
    # its answer, though its item may have no unit left to offer in the form by now.
    repeated = selectors.auction_for_key(seller=request.user, key=key_in_request(request))
    if repeated is not None:
        return _seller_done(request, _started(repeated))
    form = AuctionStartForm(request.POST, items=items)
    if form.is_valid():
        try:
            auction = auction_start(
                actor=request.user,
                item=next(i for i in items if i.public_id == form.cleaned_data["item"]),
                starts_at=timezone.now() + timedelta(minutes=form.cleaned_data["starts_in"]),
                idempotency_key=key_from_request(request),
                **form.auction_fields(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return _seller_done(request, _started(auction))
    return _panel(request, form, status=400)


@login_required
@require_POST
def cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    auction = selectors.auction_get(public_id=public_id)
    try:
        auction_cancel(actor=request.user, auction=auction)
    except DomainError as error:
        if not request.htmx:
            raise
        return _panel(request, error=error.message, status=error.status)
    return _seller_done(request, f"The auction of “{auction.item.title}” was cancelled.")
