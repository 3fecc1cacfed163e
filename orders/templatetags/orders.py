from django import template

from orders.selectors import accepted_offer

register = template.Library()


@register.inclusion_tag("orders/_add_to_cart.html", takes_context=True)
def add_to_cart(context, item, available: int) -> dict:
    """The "Add to cart" button, or "Buy at your offer price" for a buyer whose offer
    on the item was accepted (its unit is held for them, so it shows as unavailable);
    nothing for the item's own seller."""
    user = context["request"].user
    offer = accepted_offer(buyer=user, item=item) if user.is_authenticated else None
    own = user.is_authenticated and item.stall.seller.user_id == user.pk
    return {
        "item": item,
        "available": 0 if own else available,
        "offer": offer,
        "csrf_token": context.get("csrf_token"),
    }
