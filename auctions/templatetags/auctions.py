from django import template

from auctions.selectors import auction_running_for_item, auctions_running_for_items

register = template.Library()


@register.inclusion_tag("auctions/_item_link.html")
def item_auction_link(item) -> dict:
    """A link to the item's scheduled or live auction, if it has one."""
    return {"auction": auction_running_for_item(item=item)}


@register.simple_tag
def running_auctions(items) -> dict:
    """Each of these items' running auction, in one query, for `auction_of`."""
    return auctions_running_for_items(items=list(items))


@register.filter
def auction_of(running: dict, item):
    """`running|auction_of:item`: the item's running auction, or None."""
    return running.get(item.pk)
