"""The front page, search and category pages, item pages and the auction list. Thin:
read the request, call the selectors, render. Everything here is public."""

import time
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.models import Kind
from analytics.recording import record_visit
from bazaar.cache import page_reads, read_ahead, writes_with_next_read
from bazaar.errors import NotFound
from bazaar.money import exponent, format_money
from market.selectors import market_layout, market_overview
from stalls.cards import ITEM_PAGE
from stalls.models import Category, Condition
from stalls.selectors import stalls_matching

from . import selectors
from .forms import SearchForm
from .selectors import Sort

LIVE_RESULTS = 5
FORM_IDS = "filter-%s"  # the filter form's field ids


def _page_url(request: HttpRequest, number: int) -> str:
    """This address with another page number: every filter stays in it."""
    query = request.GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"


def _paging(request: HttpRequest, page) -> dict:
    """eBay-style page links (1 … 4 5 6 … 12), previous and next."""
    links = [
        {"ellipsis": True}
        if number == page.paginator.ELLIPSIS
        else {"number": number, "url": _page_url(request, number), "current": number == page.number}
        for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    ]
    return {
        "page_links": links,
        "previous_url": _page_url(request, page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": _page_url(request, page.next_page_number()) if page.has_next() else "",
    }


@require_GET
def front_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "discovery/front_page.html",
        {
            "overview": market_overview(layout=market_layout()),
            "live_stalls": selectors.live_stalls(),
            "ending_soon": selectors.auctions_ending_soon(),
            "categories": [tile for tile in selectors.category_counts() if tile["listed"]],
            "just_listed": selectors.just_listed(viewer=request.user),
            "server_time": time.time(),
        },
    )


def _without(request: HttpRequest, name: str, value: str | None = None) -> str:
    """This address without one filter (or one of its values), back on the first page."""
    query = request.GET.copy()
    query.pop("page", None)
    if value is None:
        query.pop(name, None)
    else:
        query.setlist(name, [kept for kept in query.getlist(name) if kept != value])
    return f"?{query.urlencode()}"


def _applied(request: HttpRequest, filters) -> list[tuple[str, str]]:
    """The filters in force as (label, address without it): chips to take one off."""
    currency = settings.MARKET_CURRENCY
    chips = []
    if filters.words:
        chips.append((f"“{' '.join(filters.words)}”", _without(request, "q")))
    if filters.category and "category" in request.GET:
        chips.append((Category(filters.category).label, _without(request, "category")))
    chips += [
        (Condition(value).label, _without(request, "condition", value))
        for value in filters.conditions
    ]
    if filters.min_cents is not None:
        chips.append(
            (f"From {format_money(filters.min_cents, currency)}", _without(request, "min_price"))
        )
    if filters.max_cents is not None:
        chips.append(
            (f"Up to {format_money(filters.max_cents, currency)}", _without(request, "max_price"))
        )
    for name, attribute, label in (
        ("auction", "in_auction", "In an auction"),
        ("live", "live_now", "Seller in the stall"),
        ("sold", "sold_out", "With sold-out items"),
    ):
        if getattr(filters, attribute):
            chips.append((label, _without(request, name)))
    return chips


def _filter_form(form: SearchForm, filters) -> dict:
    """What the filters' form shows: the choices, what is in force, what was refused."""
    return {
        "sorts": Sort.choices,
        "categories": Category.choices,
        "conditions": Condition.choices,
        "price_fields": [form["min_price"], form["max_price"]],
        "toggles": [
            (name, form.fields[name].label, getattr(filters, attribute))
            for name, attribute in (
                ("auction", "in_auction"),
                ("live", "live_now"),
                ("sold", "sold_out"),
            )
        ],
        "filter_errors": [
            (name, f"{form.fields[name].label}: {error}")
            for name, errors in form.errors.items()
            for error in errors
        ],
    }


def _heading(query: str, filters) -> str:
    where = Category(filters.category).label if filters.category else ""
    if query:
        return f"Results for “{query}”" + (f" in {where}" if where else "")
    return where or "Everything for sale"


def _results(request: HttpRequest, form: SearchForm, *, heading: str = "") -> HttpResponse:
    """The search page for the form's filters (a category page's heading is its name)."""
    form.is_valid()
    filters = form.filters()
    query = form.cleaned_data.get("q", "").strip()
    results = selectors.item_search(
        filters=filters, viewer=request.user, page=request.GET.get("page", 1)
    )
    context = {
        "heading": heading or _heading(query, filters),
        "results": results,
        "search_query": query,
        "stalls": stalls_matching(words=list(filters.words), limit=4) if filters.words else [],
        "server_time": time.time(),
        **_paging(request, results.page),
        **_filter_form(form, filters),
        "applied": _applied(request, filters),
    }
    return render(request, "discovery/search.html", context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The results page; the top bar's live search (HTMX) gets a short list instead."""
    form = SearchForm(request.GET, auto_id=FORM_IDS)
    if request.htmx and request.htmx.target == "search-results":
        return _live_results(request, form)
    return _results(request, form)


def _live_results(request: HttpRequest, form: SearchForm) -> HttpResponse:
    form.is_valid()
    filters = form.filters()
    if not filters.words:
        return HttpResponse("")
    results = selectors.item_search(filters=filters, viewer=request.user)
    return render(
        request,
        "discovery/_live_results.html",
        {
            "search_query": form.cleaned_data["q"],
            "cards": results.cards[:LIVE_RESULTS],
            "total": results.page.paginator.count,
            "stalls": stalls_matching(words=list(filters.words), limit=3),
        },
    )


@require_GET
def category(request: HttpRequest, category: str) -> HttpResponse:
    if category not in Category.values:
        raise NotFound("There is no such category.")
    data = request.GET.copy()
    data["category"] = category
    return _results(request, SearchForm(data, auto_id=FORM_IDS), heading=Category(category).label)


@require_GET
def item_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """An item's own page: shareable, with everything the stall's drawer offers."""
    item = selectors.item_listed(public_id=public_id)
    # The stall's cards and running auctions, the seller's dot, the Save and Follow
    # counts: one cache round trip for what several apps read (bazaar.cache.read_ahead),
    # with the visit's push.
    with writes_with_next_read():
        record_visit(request, Kind.ITEM_VIEWED, stall=item.stall, item=item)
        with read_ahead(page_reads(ITEM_PAGE, item, viewer=request.user)):
            return _item_page(request, item)


def _item_page(request: HttpRequest, item) -> HttpResponse:
    card, more = selectors.item_page_cards(item=item, viewer=request.user)
    photos = card.photos
    places = exponent(item.currency)
    return render(
        request,
        "discovery/item.html",
        {
            "item": item,
            "card": card,
            "photos": photos,
            "share_image_url": request.build_absolute_uri(photos[0].image.url) if photos else "",
            "price_amount": f"{Decimal(item.price_cents).scaleb(-places):.{places}f}",
            "more": more,
            # What the page's kept markup varies on ({% kept %} in the template):
            # the viewer's holds, and what "More from" shows of its auctions (their
            # figures move with bids, their time left by the minute).
            "viewer_holds": [one.held_for_you for one in (card, *more)],
            "more_auctions": _auction_figures([one.auction for one in more if one.auction]),
            "server_time": time.time(),
        },
    )


def _auction_figures(auctions: list) -> list:
    """What a card shows of each auction that changes without its stall's scopes (a
    bid), and the minute its time left is worded in; nothing without auctions."""
    if not auctions:
        return []
    figures = [(a.public_id, a.status, a.price_cents, a.bid_count, a.ends_at) for a in auctions]
    return [*figures, int(time.time() // 60)]


@require_GET
def auction_list(request: HttpRequest) -> HttpResponse:
    page, cards = selectors.auction_list(page=request.GET.get("page", 1))
    return render(
        request,
        "discovery/auctions.html",
        {
            "page": page,
            "cards": cards,
            "server_time": time.time(),
            **_paging(request, page),
        },
    )
