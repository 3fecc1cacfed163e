from django import template

from watchlist.buttons import item_button, stall_button
from watchlist.selectors import stall_follow_state

register = template.Library()


def _context(context, button) -> dict:
    request = context["request"]
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "button": button,
        "back": request.get_full_path(),
    }


@register.inclusion_tag("watchlist/_toggle.html", takes_context=True)
def save_button(context, item) -> dict:
    """The item's Save button for this viewer, with how many watch it."""
    return _context(context, item_button(user=context["request"].user, item=item))


@register.inclusion_tag("watchlist/_toggle.html", takes_context=True)
def follow_button(context, stall) -> dict:
    """The stall's Follow button for this viewer, with how many follow it."""
    return _context(context, stall_button(user=context["request"].user, stall=stall))


@register.simple_tag(takes_context=True)
def stall_followed(context, stall) -> bool:
    """Whether this viewer follows the stall (from what the page read ahead): the stall
    page's kept markup varies on it, so a signed-in viewer's Follow button is kept too."""
    return stall_follow_state(user=context["request"].user, stall=stall).on
