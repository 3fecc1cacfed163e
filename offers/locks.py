"""Row locks for offer actions, always in this order: the item, then the offer.

The item lock is `stalls.services.item_lock`, the one stalls' reservation functions
(and orders' checkout through them) wait on, so an offer action that takes or
releases stock waits in the same queue and can never hold the offer while waiting
for the item the other way round.
"""

from .models import Offer


def offer_for_update(*, offer_id: int) -> Offer:
    """Lock one offer (after its item), with what its rules and entries read."""
    return (
        Offer.objects.select_for_update(of=("self",))
        .select_related(*Offer.RELATED, "reservation")
        .get(pk=offer_id)
    )
