"""What the top bar of every page shows a signed-in viewer: their roles (the menu),
the bell's unread count and the cart's units, with their accepted offers (a page of
items' cart buttons), read in one cache round trip (four apps' kept values:
`bazaar.cache.kept_together`), where each had a round trip of its own; a page that
reads ahead reads them with its own (`top_bar_keys`). In discovery, the layer of
pages over every app."""

from bazaar.cache import Kept, kept_together, wanted_keys
from governance.selectors import user_roles_cached
from notifications.selectors import unread_cached
from offers.selectors import accepted_offers_kept
from orders.checkout.selectors import cart_units_kept


def _top_bar_values(user) -> list[Kept]:
    return [
        user_roles_cached(user=user),
        unread_cached(user=user),
        cart_units_kept(buyer=user),
        accepted_offers_kept(buyer=user),
    ]


def top_bar_keys(user) -> list[str]:
    """What the top bar reads from the cache for a signed-in `user` (read ahead)."""
    return wanted_keys(*_top_bar_values(user))


def top_bar(request) -> dict:
    user = request.user
    if user.is_authenticated:
        roles, unread, cart_units, accepted = kept_together(*_top_bar_values(user))
    else:  # a guest's cart is in the session: read by the cart's tag where it shows
        roles, unread, cart_units, accepted = frozenset(), 0, None, None
    return {
        "user_roles": roles,
        "user_is_seller": "seller" in roles,
        "top_bar_unread": unread,
        "top_bar_cart_units": cart_units,
        # For the cart buttons of a page of items (orders' `accepted_offers_for`).
        "viewer_accepted_offers": accepted,
    }
