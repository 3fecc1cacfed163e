"""Row locks for auctions, in the market's one order: the item first (stalls'
`item_lock`, as its ledger, offers and checkout take it), then the auction. A bid
locks only the auction: it moves no stock. Never a network call while one is held."""

from stalls.services import item_lock

from .models import Auction


def auction_for_update(auction_id: int) -> Auction:
    """The auction row, locked until the transaction ends.

    Nothing is joined in: after waiting for the lock PostgreSQL re-reads the locked
    row but not joined ones, which would describe the previous leader. The people
    it names load afresh, under the lock, when first used.
    """
    return Auction.objects.select_for_update().get(pk=auction_id)


def auction_for_bids(auction_id: int) -> Auction:
    """`auction_for_update` with its item read in the same round trip (a bid batch
    records each bid against the item): only the auction's row is locked, and the
    item's fields a bid reads (its id and stall) never change.
    """
    return Auction.objects.select_for_update(of=("self",)).select_related("item").get(pk=auction_id)


def auction_and_item_for_update(auction_id: int) -> Auction:
    """For changes that may move stock (closing, cancelling, a second chance): the
    item's row, then the auction's."""
    item_lock(item_id=Auction.objects.values_list("item_id", flat=True).get(pk=auction_id))
    return auction_for_update(auction_id)
