from django import template

from auctions.forms import AuctionStartForm
from auctions.selectors import (
    auction_running_for_item,
    auctions_for_seller,
    auctions_running_in_stall,
    items_to_auction,
)
from stalls.selectors import stall_for_user

register = template.Library()


@register.inclusion_tag("auctions/_item_link.html")
def item_auction_link(item) -> dict:
    """A link to the item's scheduled or live auction, if it has one."""
    return {"auction": auction_running_for_item(item=item)}


@register.inclusion_tag("auctions/_dashboard.html", takes_context=True)
def seller_auctions_panel(context) -> dict:
    """The dashboard's auctions panel, in the page's first response (no layout shift);
    auctions.views.dashboard_panel renders it again after an action."""
    user = context["request"].user
    items = items_to_auction(stall=stall_for_user(user=user))
    return {
        **context.flatten(),
        "form": AuctionStartForm(items=items),
        "items": items,
        "auctions": auctions_for_seller(user=user),
    }


@register.simple_tag
def running_auctions(stall) -> dict:
    """Each of the stall's items' running auction, for `auction_of`: one query, none
    while the stall has no auction running."""
    return auctions_running_in_stall(stall=stall)


@register.filter
def auction_of(running: dict, item):
    """`running|auction_of:item`: the item's running auction, or None."""
    return running.get(item.pk)
