from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django_htmx.http import push_url

from auctions.selectors import auctions_running_for_stalls
from bazaar.cache import page_reads, read_ahead, writes_with_next_read
from stalls.room.presence import live_stall_ids
from stalls.selectors import stall_cards_for_section

from .selectors import SECTION_PAGE, market_layout, minimap, neighbours
from .services import grid_viewed_record

ORIGIN = (0, 0)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("market:section", *ORIGIN)


def _coordinates(raw_x: str, raw_y: str) -> tuple[int, int] | None:
    try:
        return int(raw_x), int(raw_y)
    except ValueError:
        return None


def _badge(auction) -> dict | None:
    """What a card's auction badge shows, as plain values: the grid's kept markup is
    keyed by what it shows ({% kept %} in market/_section.html)."""
    return auction and {"public_id": auction.public_id, "title": auction.item.title}


def section(request: HttpRequest, x: str, y: str) -> HttpResponse:
    """One section of the grid; HTMX moves get just the section and push its URL."""
    layout = market_layout()
    coordinates = _coordinates(x, y)
    if coordinates is None or not layout.contains(*coordinates):
        if coordinates == ORIGIN or not layout.contains(*ORIGIN):
            return render(request, "market/empty.html", status=404)
        return redirect("market:section", *ORIGIN)
    x, y = coordinates
    section_id = layout.ids[coordinates]
    cards = stall_cards_for_section(section_id=section_id)
    # The live dots, the auction badges and the shows: one cache round trip, with the
    # walker's place in the crowd and the visit's push (before the minimap counts them).
    with writes_with_next_read():
        grid_viewed_record(section_id=section_id, user=request.user, visitor_id=request.visitor_id)
        with read_ahead(page_reads(SECTION_PAGE, cards, viewer=request.user)):
            return _section_page(request, layout, x, y, section_id, cards)


def _section_page(request, layout, x: int, y: int, section_id: int, cards: list) -> HttpResponse:
    public_ids = [card["public_id"] for card in cards if card]
    live = live_stall_ids(public_ids=public_ids)
    auctions = auctions_running_for_stalls(stall_ids=[card["id"] for card in cards if card])
    context = {
        "x": x,
        "y": y,
        "section_id": section_id,
        "cards": [
            card
            and {
                **card,
                "live": card["public_id"] in live,
                "auction": _badge(auctions.get(card["public_id"])),
            }
            for card in cards
        ],
        "neighbours": neighbours(layout=layout, x=x, y=y),
        "minimap": minimap(layout=layout, x=x, y=y),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(
        request, "market/_section.html" if partial else "market/section.html", context
    )
    patch_vary_headers(response, ["HX-Request"])
    if partial:
        push_url(response, reverse("market:section", args=[x, y]))
    return response
