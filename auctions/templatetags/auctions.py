from django import template

from auctions.selectors import auction_running_for_item

register = template.Library()


@register.inclusion_tag("auctions/_item_link.html")
def item_auction_link(item) -> dict:
    """A link to the item's scheduled or live auction, if it has one."""
    return {"auction": auction_running_for_item(item=item)}
