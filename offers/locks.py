"""Row locks for offer actions, always in this order: the item, then the offer.

The item lock is `stalls.services.item_lock`, the one stalls' reservation functions
(and orders' checkout through them) wait on, so an offer action that takes or
releases stock waits in the same queue and can never hold the offer while waiting
for the item the other way round.
"""

from stalls.models import Item

from .models import Offer


def offer_for_update(*, offer_id: int, item: Item) -> Offer:
    """Lock one offer after its item, `item` being the item as locked (with its stall
    and seller): the offer gets it instead of reading it again."""
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("buyer", "answers")
        .get(pk=offer_id)
    )
    offer.item = item
    return offer
