"""Row locks for offer actions, always in this order: the item, then the offer.

The item lock is the one `stalls.services.item_lock` takes, which stalls' reservation
functions (and orders' checkout through them) wait on, so an offer action that takes
or releases stock waits in the same queue and can never hold the offer while waiting
for the item the other way round.
"""

from bazaar.errors import NotFound
from bazaar.prepared import Prepared
from stalls.models import Item

from .models import Offer

# Read with the item an action locks: the seller's auto prices answer new amounts.
ITEM_RELATED = ("auto_prices",)


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


_OFFER_WITH_ITEM = Prepared(
    lambda public_id: (
        Offer.objects.select_for_update(of=("item", "self"))
        .select_related(
            "item__stall__seller__user", *(f"item__{name}" for name in ITEM_RELATED), "buyer"
        )
        .select_related("answers")
        .filter(public_id=public_id)[:1]
    )
)


def offer_with_item_for_update(*, public_id: str) -> Offer:
    """An answer's one read: the offer with its item, stall, seller, auto prices, buyer
    and the offer it answers, the item row and the offer row locked.

    PostgreSQL takes the rows of `FOR UPDATE OF` in the order that clause names them,
    so this locks the item first and the offer second, as `item_lock` and then
    `offer_for_update` do (a test holds the two orders against each other). After a
    wait it re-reads both locked rows, so neither is stale; the joined rows are not
    re-read, and none of them changes under these locks. Compiled once
    (`bazaar.prepared`): the compiling cost more than the query.
    """
    offer = _OFFER_WITH_ITEM.first(public_id)
    if offer is None:
        raise NotFound("No offer of yours has that address.")
    return offer
