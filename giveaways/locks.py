"""Row locks for giveaways, in the market's one order: the item first (stalls'
`item_lock`, as its ledger, offers, checkout and auctions take it), then the
giveaway. Entering and drawing lock the giveaway alone: they move no stock."""

from stalls.services import item_lock

from .models import Giveaway


def giveaway_for_update(giveaway_id: int) -> Giveaway:
    return Giveaway.objects.select_for_update(of=("self",)).get(pk=giveaway_id)


def giveaway_and_item_for_update(giveaway_id: int) -> Giveaway:
    """For changes that move the held unit (cancelling, the prize's order)."""
    item_lock(item_id=Giveaway.objects.values_list("item_id", flat=True).get(pk=giveaway_id))
    return giveaway_for_update(giveaway_id)
