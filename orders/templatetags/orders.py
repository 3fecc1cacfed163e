from django import template
from django.conf import settings

from orders.forms import ShippingCostForm
from orders.gateway import TestGateway
from orders.selectors import cart_button_context, payout_overview
from stalls.selectors import stall_for_user

register = template.Library()


@register.inclusion_tag("orders/_add_to_cart.html", takes_context=True)
def add_to_cart(context, item, available: int) -> dict:
    """The item's cart button (orders.selectors.cart_button_context), refreshed in
    place by the page when the viewer's offers or the item's stock change."""
    return {
        **cart_button_context(user=context["request"].user, item=item, available=available),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("orders/_payouts_panel.html", takes_context=True)
def seller_payouts_panel(context) -> dict:
    """The dashboard's payouts panel, in the page's first response (no layout shift);
    orders.views.payouts_panel renders it again after an action."""
    overview = payout_overview(stall=stall_for_user(user=context["request"].user))
    return {
        **context.flatten(),
        "overview": overview,
        "form": ShippingCostForm(initial={"shipping": overview.shipping_cents}),
        "test_mode": TestGateway.name == settings.PAYMENT_GATEWAY,
        "saved": False,
    }
