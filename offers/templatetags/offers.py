from django import template

from offers import selectors

register = template.Library()


@register.inclusion_tag("offers/_dashboard.html", takes_context=True)
def seller_offers_panel(context) -> dict:
    """The dashboard's offers panel, in the page's first response (no layout shift);
    offers.views.dashboard_panel renders it again after an action."""
    return {
        **context.flatten(),
        "rows": selectors.seller_offer_items(user=context["request"].user),
    }
