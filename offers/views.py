"""Offer pages and actions. Thin: parse, call a service, render.

Actions are POSTs with an idempotency key. They answer in three ways: JSON when
asked for it (`Accept: application/json`), the re-rendered panel for HTMX (the
item's panel in the stall drawer, or the seller's dashboard block), or a redirect
with a message when there is no JavaScript. An action's view reads nothing before
the service: the service's locked read is the first (and the item for the answer
comes with the offer it returns); only a refusal looks the item up again.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError
from bazaar.idempotency import key_from_request
from stalls.selectors import item_available_quantity, item_get

from . import selectors, services
from .ladder import offer_private_entry
from .models import Offer

ACTIONS = {
    "accept": services.offer_accept,
    "decline": services.offer_decline,
    "withdraw": services.offer_withdraw,
}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def item_panel_context(request: HttpRequest, item, **extra) -> dict:
    """The drawer's offers panel for whoever is looking: the public ladder, plus the
    buyer's own thread or the seller's open threads with their answers."""
    available = item_available_quantity(item=item)
    user = request.user
    role = "guest"
    context = {"item": item, "available": available, "ladder": selectors.item_ladder(item=item)}
    if user.is_authenticated and item.stall.seller.user_id == user.pk:
        role = "seller"
        context["threads"] = selectors.item_live_threads_for_seller(item=item)
    elif user.is_authenticated:
        role = "buyer"
        context["mine"] = selectors.item_offers_for_buyer(
            buyer=user, item=item, available=available
        )
    return {**context, "role": role, **extra}


@require_GET
def item_panel(request: HttpRequest, item_id: str) -> HttpResponse:
    """HTMX: the offers block of an item's drawer (loaded with the drawer, and again
    when an offer of this viewer's changes)."""
    item = item_get(public_id=item_id)
    return render(request, "offers/_panel.html", item_panel_context(request, item))


def _answer(
    request: HttpRequest, *, item_of: Callable, offer: Offer | None, error: DomainError | None
):
    """The answer to an action; `item_of()` finds the item when no offer came back."""
    if _wants_json(request):
        if error is not None:
            return JsonResponse(
                {"error": {"code": error.code, "message": error.message}}, status=error.status
            )
        return JsonResponse({"offer": offer_private_entry(offer)})
    status = error.status if error else 200
    notice = selectors.action_notice(offer, request.user) if offer is not None else ""
    item = offer.item if offer is not None else item_of()
    if request.htmx and request.POST.get("panel") == "dashboard":
        context = {"rows": selectors.seller_offer_items(user=request.user)}
        context.update(error=error, notice=notice)
        return render(request, "offers/_dashboard.html", context, status=status)
    if request.htmx:
        context = item_panel_context(request, item, error=error, notice=notice, typed=request.POST)
        return render(request, "offers/_panel.html", context, status=status)
    if error is not None:
        messages.error(request, error.message)
    else:
        messages.success(request, notice)
    back = {"dashboard": "stalls:dashboard", "mine": "offers:mine"}.get(request.POST.get("panel"))
    if back:
        return redirect(back)
    return redirect(
        f"{reverse('stalls:detail', args=[item.stall.public_id])}#item-{item.public_id}"
    )


def _call(request: HttpRequest, *, item_of: Callable, action) -> HttpResponse:
    try:
        offer = action()
    except DomainError as error:
        return _answer(request, item_of=item_of, offer=None, error=error)
    return _answer(request, item_of=item_of, offer=offer, error=None)


def _typed(request: HttpRequest) -> dict:
    """The amount and message a person typed with an offer; the service reads the
    amount in the item's currency."""
    return {
        "amount_cents": request.POST.get("amount", ""),
        "message": request.POST.get("message", ""),
    }


@login_required
@require_POST
def offer_create(request: HttpRequest, item_id: str) -> HttpResponse:
    """A buyer's first amount on an item: typed as text, parsed by the service."""

    def action():
        return services.offer_make(
            buyer=request.user,
            item=item_id,
            **_typed(request),
            idempotency_key=key_from_request(request),
        )

    return _call(request, item_of=lambda: item_get(public_id=item_id), action=action)


@login_required
@require_POST
def offer_answer(request: HttpRequest, public_id: str, action: str) -> HttpResponse:
    """Accept, decline, withdraw or counter an offer; only its buyer or seller may
    (anyone else gets 404, from the service)."""

    def act():
        key = key_from_request(request)
        if action == "counter":
            return services.offer_counter(
                actor=request.user, offer=public_id, idempotency_key=key, **_typed(request)
            )
        return ACTIONS[action](actor=request.user, offer=public_id, idempotency_key=key)

    def item_of():
        return selectors.offer_for_party(user=request.user, public_id=public_id).item

    return _call(request, item_of=item_of, action=act)


@login_required
@require_GET
def dashboard_panel(request: HttpRequest) -> HttpResponse:
    """HTMX: the seller's open offers and auto prices, in the stall dashboard."""
    rows = selectors.seller_offer_items(user=request.user)
    return render(request, "offers/_dashboard.html", {"rows": rows})


def _optional_amount(text: str, currency: str) -> int | None:
    text = text.strip()
    return services.offer_amount_parse(text=text, currency=currency) if text else None


@login_required
@require_POST
def auto_prices(request: HttpRequest, item_id: str) -> HttpResponse:
    """The seller sets (or clears) an item's auto-accept and auto-decline prices."""
    item = item_get(public_id=item_id)
    error = None
    notice = ""
    try:
        services.auto_prices_set(
            actor=request.user,
            item=item,
            accept_cents=_optional_amount(request.POST.get("accept", ""), item.currency),
            decline_cents=_optional_amount(request.POST.get("decline", ""), item.currency),
        )
        notice = f"Auto prices for “{item.title}” saved."
    except DomainError as failure:
        if failure.status == 403:
            raise
        error = failure
    if not request.htmx:
        if error:
            messages.error(request, error.message)
        else:
            messages.success(request, notice)
        return redirect("stalls:dashboard")
    context = {
        "rows": selectors.seller_offer_items(user=request.user),
        "error": error,
        "notice": notice,
        "error_item": item.public_id if error else "",
        "typed": request.POST,
    }
    return render(request, "offers/_dashboard.html", context, status=error.status if error else 200)


@login_required
@require_GET
def my_offers(request: HttpRequest) -> HttpResponse:
    """Every thread the signed-in buyer has opened, newest first."""
    threads = selectors.offers_for_buyer(user=request.user)
    return render(request, "offers/mine.html", {"threads": threads})
