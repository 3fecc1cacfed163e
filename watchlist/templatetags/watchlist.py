from django import template

from watchlist.buttons import item_button, stall_button

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
