from django import template

from orders.selectors import cart_button_context

register = template.Library()


@register.inclusion_tag("orders/_add_to_cart.html", takes_context=True)
def add_to_cart(context, item, available: int) -> dict:
    """The item's cart button (orders.selectors.cart_button_context), refreshed in
    place by the page when the viewer's offers or the item's stock change."""
    return {
        **cart_button_context(user=context["request"].user, item=item, available=available),
        "csrf_token": context.get("csrf_token"),
    }
