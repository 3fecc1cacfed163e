"""How the kinds are grouped on the settings page, and which come by email."""

from .models import Kind

# The settings page's sections, in order, each with the kinds it offers.
GROUPS: list[tuple[str, list[Kind]]] = [
    ("Auctions", [Kind.OUTBID, Kind.AUCTION_WON, Kind.AUCTION_LOST, Kind.AUCTION_ENDING]),
    ("Live shows", [Kind.GIVEAWAY_WON]),
    (
        "Offers",
        [Kind.OFFER_RECEIVED, Kind.OFFER_COUNTERED, Kind.OFFER_ACCEPTED, Kind.OFFER_EXPIRING],
    ),
    (
        "Sellers you follow and items you watch",
        [Kind.SELLER_LIVE, Kind.SELLER_LISTED, Kind.PRICE_DROP],
    ),
    (
        "Stewards",
        [
            Kind.STALL_MOVED,
            Kind.PHOTO_SCREENED,
            Kind.REPORT_RESOLVED,
            Kind.SANCTIONED,
            Kind.APPEAL_DECIDED,
            Kind.STEWARD_ELECTION,
            Kind.DISPUTE,
        ],
    ),
]

# Order updates are mailed by the orders app itself (orders/escrow/notify.py), with the
# order's lines and totals: they are the buyer's receipt and the seller's record of
# what to ship, so they are not optional and the notice adds no second email.
MAILED_BY_ORDERS: frozenset[str] = frozenset(
    {Kind.ORDER_PAID, Kind.ORDER_SHIPPED, Kind.ORDER_DELIVERED}
)

# What a person gets by email until they choose: news they must act on soon, not
# the chatter of sellers they follow.
EMAILED_BY_DEFAULT: frozenset[str] = frozenset(
    {
        Kind.OUTBID,
        Kind.AUCTION_WON,
        Kind.AUCTION_ENDING,
        Kind.OFFER_RECEIVED,
        Kind.OFFER_COUNTERED,
        Kind.OFFER_ACCEPTED,
        Kind.OFFER_EXPIRING,
        Kind.PRICE_DROP,
        Kind.STALL_MOVED,
        Kind.PHOTO_SCREENED,
        Kind.SANCTIONED,
        Kind.APPEAL_DECIDED,
        Kind.DISPUTE,
        Kind.GIVEAWAY_WON,  # the prize is lost unless claimed within 48 hours
    }
)

EMAILABLE: frozenset[str] = frozenset(kind for _, kinds in GROUPS for kind in kinds)
