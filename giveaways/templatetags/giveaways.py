"""The giveaway's panels on the stall page (`{% load giveaways %}`), in the page's
first response; `giveaways.views` renders them again when they change."""

from django import template

from giveaways.selectors import giveaway_over_stall
from giveaways.views import overlay_context, tools_context

register = template.Library()


@register.simple_tag
def giveaway_over(stall) -> bool:
    """Whether a giveaway shows over the stall to anyone (its winner included)."""
    return giveaway_over_stall(stall=stall)


@register.inclusion_tag("giveaways/_overlay.html", takes_context=True)
def giveaway_overlay(context, stall) -> dict:
    return {**context.flatten(), **overlay_context(user=context["request"].user, stall=stall)}


@register.inclusion_tag("giveaways/_tools.html", takes_context=True)
def giveaway_tools(context, stall) -> dict:
    return {**context.flatten(), **tools_context(stall=stall)}
