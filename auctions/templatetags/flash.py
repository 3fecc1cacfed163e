"""The flash auction's panels on the stall page (`{% load flash %}`), in the page's
first response; `auctions.flash_views` renders them again when they change."""

from django import template

from auctions.flash import flash_auction_shown
from auctions.flash_views import overlay_context, tools_context

register = template.Library()


@register.simple_tag
def flash_auction_over(stall) -> bool:
    """Whether a flash auction shows over the stall (the same for everyone)."""
    return flash_auction_shown(stall=stall) is not None


@register.inclusion_tag("auctions/_flash_overlay.html", takes_context=True)
def flash_overlay(context, stall) -> dict:
    """The running (or just ended) flash auction over the stall, for everyone."""
    return {**context.flatten(), **overlay_context(user=context["request"].user, stall=stall)}


@register.inclusion_tag("auctions/_flash_tools.html", takes_context=True)
def flash_tools(context, stall) -> dict:
    """The seller's form to start a flash auction (the page shows it to them alone)."""
    return {**context.flatten(), **tools_context(stall=stall)}
