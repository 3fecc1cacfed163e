"""The show's pieces on other apps' pages, loaded by name (`{% load shows %}`) so the
lower apps' templates include them without the lower apps importing this one."""

from django import template
from django.conf import settings
from django.templatetags.static import static

from shows import media
from shows.on_air import on_air
from shows.services import page_viewer_grant

register = template.Library()


def _show_for_request(request, stall) -> dict | None:
    """The stall's show as this request first read it: the page's head and its stage
    ask for it, and read apart they cost two cache round trips and could disagree."""
    shows = request.__dict__.setdefault("_shows_on_air", {})
    if stall.public_id not in shows:
        shows[stall.public_id] = on_air(stall_public_ids=[stall.public_id]).get(stall.public_id)
    return shows[stall.public_id]


def _is_seller(request, stall) -> bool:
    return request.user.is_authenticated and stall.seller.user_id == request.user.pk


def _janus_viewer(request, stall) -> bool:
    """Whether this page is a viewer's on the embedded backend (its head script, the
    viewer's Janus client, then runs the page's connection to a live show)."""
    return not _is_seller(request, stall) and getattr(media.backend(), "name", "") == "janus"


def _stage_context(context, stall, *, early: bool = False) -> dict:
    """What the stage shows; `early`, for the page's head, with the viewer's grant."""
    request = context["request"]
    show = _show_for_request(request, stall)
    is_seller = _is_seller(request, stall)
    grant = None
    if early and show and not is_seller:
        grant = page_viewer_grant(
            stall_public_id=stall.public_id,
            on_air_entry=show,
            user=request.user,
            visitor_id=request.visitor_id,
            # A browser's top-level navigation says so (Fetch Metadata); crawlers, curl
            # and htmx's fragments do not, and a prefetch says `Sec-Purpose`.
            ahead=request.headers.get("Sec-Fetch-Dest") == "document"
            and "Sec-Purpose" not in request.headers,
        )
    return {
        "stall": stall,
        "show": show,
        "grant": grant.as_json() if grant else None,
        "is_seller": is_seller,
        "video_enabled": media.backend() is not None,
        "janus_viewer": _janus_viewer(request, stall),
        "how_to_enable": media.HOW_TO_ENABLE,
        "heartbeat_seconds": settings.SHOW_HEARTBEAT_SECONDS,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def show_on_air(context, stall) -> dict | None:
    """The stall's show on air, as this request's stage shows it (None: no show)."""
    return _show_for_request(context["request"], stall)


@register.inclusion_tag("shows/_stage.html", takes_context=True)
def show_stage(context, stall):
    """The stall page's video: the viewer's stage, or the seller's own panel."""
    return _stage_context(context, stall)


@register.inclusion_tag("shows/_early.html", takes_context=True)
def show_early(context, stall):
    """The stall page's head: a viewer's grant and Janus client, so that connecting to a
    live show starts before the stylesheet and the page's scripts arrive."""
    return _stage_context(context, stall, early=True)


# The show's own scripts: the viewer's stage and the seller's panel, each media client
# loading its library only when a grant names it.
SHOW_SCRIPTS = (
    "js/shows/common.js",
    "js/shows/janus-client.js",
    "js/shows/livekit-client.js",
    "js/shows/stage.js",
    "js/shows/seller.js",
)


@register.inclusion_tag("shows/_later_scripts.html")
def show_scripts():
    """The show's scripts, deferred (the dashboard's Go live panel)."""
    return {"sources": [static(path) for path in SHOW_SCRIPTS], "later": False}


@register.inclusion_tag("shows/_later_scripts.html", takes_context=True)
def scripts_after_first_frame(context, stall, *paths: str):
    """The show's scripts, then the page's other scripts (static `paths`), run in order.
    On a live show's page for a viewer on Janus they wait for the video's first frame
    (the head's client loads them then, or once it cannot come): every step of the
    connection needs the page's main thread, and their parsing and start-up took it
    between those steps; the head's client plays the video without them (stage.js
    adopts its connection when it runs). Elsewhere they are deferred scripts as usual."""
    request = context["request"]
    later = bool(_show_for_request(request, stall)) and _janus_viewer(request, stall)
    return {"sources": [static(path) for path in (*SHOW_SCRIPTS, *paths)], "later": later}


@register.inclusion_tag("shows/_seller_panel.html", takes_context=True)
def show_panel(context, stall):
    """The dashboard's "Go live" panel."""
    return _stage_context(context, stall)


@register.simple_tag
def live_shows_for(cards) -> dict:
    """One cache read for a section's cards (market.selectors' dicts): {stall public id:
    its show's entry}."""
    return on_air(stall_public_ids=[card["public_id"] for card in cards if card])


@register.inclusion_tag("shows/_live_badge.html")
def show_badge(shows: dict | None, stall_public_id: str):
    return {"show": (shows or {}).get(stall_public_id), "stall_public_id": stall_public_id}
