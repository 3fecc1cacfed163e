from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timeuntil

from offers.selectors import accepted_offers_shown
from orders.checkout.selectors import cart_button_context, cart_count_for_request
from orders.forms import ShippingCostForm
from orders.payments.selectors import payout_overview
from orders.payments.test_gateway import TestGateway
from stalls.selectors import stall_for_user

register = template.Library()


@register.simple_tag(takes_context=True)
def accepted_offers_for(context, items) -> dict:
    """`{% accepted_offers_for items as accepted %}`: the viewer's accepted offers on a
    page's items in one read (kept until one of theirs changes), for each
    `add_to_cart item available accepted`; read with the top bar when the page has
    one (discovery.context_processors)."""
    return accepted_offers_shown(
        buyer=context["request"].user,
        items=list(items),
        kept=context.get("viewer_accepted_offers"),
    )


@register.inclusion_tag("orders/_add_to_cart.html", takes_context=True)
def add_to_cart(context, item, available: int, accepted: dict | None = None) -> dict:
    """The item's cart button (orders.checkout.selectors.cart_button_context), refreshed in
    place by the page when the viewer's offers or the item's stock change. `accepted`:
    the page's `accepted_offers_for`, so many buttons cost one query, not one each."""
    user = context["request"].user
    return {
        **cart_button_context(user=user, item=item, available=available, accepted=accepted),
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


@register.inclusion_tag("orders/_cart_count.html", takes_context=True)
def cart_count(context, oob: bool = False) -> dict:
    """The top bar's count of units in the cart; `oob` when an htmx answer that
    changed the cart brings it along (an out-of-band swap). The count is the page's
    top bar's (discovery.context_processors) when it has one."""
    count = context.get("top_bar_cart_units")
    if count is None:
        count = cart_count_for_request(context["request"])
    return {"count": count, "oob": oob}


@register.filter
def duration(delta) -> str:
    """A length of time in words ("6 days, 4 hours"), for a paused countdown."""
    now = timezone.now()
    return timeuntil(now + delta, now)
