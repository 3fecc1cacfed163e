"""Giveaway pages and panels. Thin: parse, call a service, render.

Over the stall (`_overlay.html`): the open giveaway's Enter button, the result, the
winner's claim; the seller's tools (`_tools.html`): open, draw, cancel. Both are
htmx fragments, also rendered into the stall page by `{% load giveaways %}`.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bazaar.errors import DomainError, NotAllowed
from bazaar.idempotency import key_from_request
from orders.checkout.selectors import shipping_address_for
from orders.forms import ShippingAddressForm
from stalls.models import Stall
from stalls.selectors import items_with_availability, stall_get

from . import selectors, services
from .forms import GiveawayOpenForm


def items_to_give(*, stall: Stall) -> list:
    """The stall's items with a unit free to give away."""
    return [item for item in items_with_availability(stall=stall) if item.inventory > item.reserved]


def overlay_context(*, user, stall: Stall, **extra) -> dict:
    giveaway = selectors.giveaway_shown(stall=stall, user=user)
    context = {"stall": stall, "giveaway": giveaway, **extra}
    if giveaway is not None:
        context["part"] = selectors.viewer_part(giveaway=giveaway, user=user)
        context["entries"] = selectors.entry_count(giveaway=giveaway)
    return context


def tools_context(*, stall: Stall, form: GiveawayOpenForm | None = None, **extra) -> dict:
    items = items_to_give(stall=stall)
    giveaway = selectors.giveaway_open_for_stall(stall=stall)
    return {
        "stall": stall,
        "items": items,
        "form": form or GiveawayOpenForm(items=items),
        "giveaway": giveaway,
        "entries": selectors.entry_count(giveaway=giveaway) if giveaway else 0,
        **extra,
    }


def _seller_stall(request: HttpRequest, public_id: str) -> Stall:
    stall = stall_get(public_id=public_id)
    if stall.seller.user_id != request.user.pk:
        raise NotAllowed("Only the stall's seller runs its giveaways.")
    return stall


def _tools(request, stall: Stall, *, status: int = 200, **extra) -> HttpResponse:
    return render(
        request, "giveaways/_tools.html", tools_context(stall=stall, **extra), status=status
    )


@require_GET
def overlay(request: HttpRequest, public_id: str) -> HttpResponse:
    stall = stall_get(public_id=public_id)
    return render(
        request, "giveaways/_overlay.html", overlay_context(user=request.user, stall=stall)
    )


@login_required
@require_http_methods(["GET", "POST"])
def tools(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the seller's giveaway tools. POST: open a giveaway."""
    stall = _seller_stall(request, public_id)
    if request.method == "GET":
        return _tools(request, stall)
    items = items_to_give(stall=stall)
    form = GiveawayOpenForm(request.POST, items=items)
    if form.is_valid():
        try:
            giveaway = services.giveaway_open(
                actor=request.user,
                item=next(i for i in items if i.public_id == form.cleaned_data["item"]),
                audience=form.cleaned_data["audience"],
                idempotency_key=key_from_request(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            notice = f"Your giveaway of “{giveaway.item.title}” is open: viewers can enter now."
            return _tools(request, stall, notice=notice)
    return _tools(request, stall, form=form, status=400)


def _seller_action(request: HttpRequest, public_id: str, act, done) -> HttpResponse:
    """Draw or cancel: the seller's tools again, with what happened or why not."""
    giveaway = selectors.giveaway_get(public_id=public_id)
    stall = _seller_stall(request, giveaway.stall.public_id)
    try:
        giveaway = act(actor=request.user, giveaway=giveaway)
    except DomainError as error:
        return _tools(request, stall, error=error.message, status=error.status)
    return _tools(request, stall, notice=done(giveaway))


@login_required
@require_POST
def draw(request: HttpRequest, public_id: str) -> HttpResponse:
    def done(giveaway) -> str:
        return f"@{giveaway.winner.handle} won “{giveaway.item.title}”."

    return _seller_action(request, public_id, services.giveaway_draw, done)


@login_required
@require_POST
def cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    def done(giveaway) -> str:
        return "The giveaway was cancelled; the item is back on sale."

    return _seller_action(request, public_id, services.giveaway_cancel, done)


@require_POST
def enter(request: HttpRequest, public_id: str) -> HttpResponse:
    """One tap on Enter: the overlay again, saying so (or why not, in place)."""
    giveaway = selectors.giveaway_get(public_id=public_id)
    stall = giveaway.stall
    try:
        services.giveaway_enter(user=request.user, giveaway=giveaway)
    except DomainError as error:
        context = overlay_context(user=request.user, stall=stall, error=error.message)
        return render(request, "giveaways/_overlay.html", context, status=error.status)
    context = overlay_context(user=request.user, stall=stall, notice="You're in the draw.")
    return render(request, "giveaways/_overlay.html", context)


@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """The giveaway's page: what it is, how it was drawn, and the winner's claim (a
    shipping address; POST makes the zero-price order and goes to it)."""
    giveaway = selectors.giveaway_get(public_id=public_id)
    part = selectors.viewer_part(giveaway=giveaway, user=request.user)
    form = None
    if part.won and giveaway.status == giveaway.Status.DRAWN:
        form = ShippingAddressForm(request.POST or None, initial=_saved_address(request.user))
    if request.method == "POST":
        if form is None:
            raise NotAllowed("Only the winner claims the prize.")
        if form.is_valid():
            try:
                giveaway = services.giveaway_claim(
                    winner=request.user, giveaway=giveaway, address=form.cleaned_data
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                return redirect("orders:detail", giveaway.order_public_id)
    draw_record = getattr(giveaway, "draw", None) if giveaway.drawn_at else None
    return render(
        request,
        "giveaways/detail.html",
        {
            "giveaway": giveaway,
            "part": part,
            "form": form,
            "draw": draw_record,
            "entries": selectors.entry_count(giveaway=giveaway),
        },
        status=400 if form is not None and form.errors else 200,
    )


def _saved_address(user) -> dict:
    address = shipping_address_for(buyer=user)
    if address is None:
        return {}
    fields = ["name", "line1", "line2", "city", "postal_code", "country"]
    return {field: getattr(address, field) for field in fields}


@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    return render(request, "giveaways/rules.html")
