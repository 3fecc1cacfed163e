"""The pages of the market, for the accessibility walk (tests/browser/
test_accessibility_browser.py) and the Lighthouse bench (scripts/lighthouse.py), and the
small demo market they are walked over.

To check a new page, add one line to PAGES: a label, the path (with {names} from
`market_for_the_crawl`), the roles that can open it, and optionally what to do on the
page before the check (open a drawer, type a search; Lighthouse skips those lines)."""

from collections.abc import Callable
from dataclasses import dataclass, field

GUEST, BUYER, SELLER, STEWARD = "guest", "buyer", "seller", "steward"
EVERYONE = (GUEST, BUYER, SELLER, STEWARD)
SIGNED_IN = (BUYER, SELLER, STEWARD)


def open_item_drawer(page) -> None:
    page.locator("[data-item-drawer]").first.click()
    page.locator("#item-drawer .offers-panel :is(form, p, ol)").first.wait_for()


def open_the_photo_viewer(page) -> None:
    page.locator("a[data-lightbox]").first.click()
    page.locator("dialog.lightbox[open] img").wait_for()


def type_a_search(page) -> None:
    page.locator(".topbar input[type=search]").fill("lamp")
    page.locator("#search-results .results").wait_for()


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    roles: tuple = EVERYONE
    then: Callable | None = field(default=None, compare=False)


PAGES = [
    Page("market section", "/market/0/0/"),
    Page("search box results", "/market/0/0/", then=type_a_search),
    Page("front page", "/"),
    Page("search page", "/search/?q=lamp"),
    Page("search, a filter refused", "/search/?q=lamp&min_price=abc&condition=good&sold=on"),
    Page("category", "/categories/kitchen/?sort=price"),
    Page("item", "/items/{item}/"),
    Page("item, photo viewer open", "/items/{item}/", then=open_the_photo_viewer),
    Page("item in an auction", "/items/{auction_item}/"),
    Page("auctions", "/auctions/"),
    Page("stall", "/stalls/{stall}/"),
    Page("stall, item drawer open", "/stalls/{stall}/", then=open_item_drawer),
    Page("auction", "/auctions/{auction}/"),
    Page("cart", "/cart/"),
    Page("log in", "/accounts/login/", roles=(GUEST,)),
    Page("sign up", "/accounts/signup/", roles=(GUEST,)),
    Page("sign up: check your inbox", "/accounts/signup/sent/", roles=(GUEST,)),
    Page("privacy notice", "/privacy/"),
    Page("password reset", "/accounts/password-reset/", roles=(GUEST,)),
    Page("password reset sent", "/accounts/password-reset/sent/", roles=(GUEST,)),
    Page("not found", "/stalls/01ARZ3NDEKTSV4RRFFQ69G5FAV/"),
    Page("checkout", "/checkout/", roles=(BUYER,)),
    Page("payment", "/payments/{payment}/", roles=(BUYER,)),
    Page("test gateway checkout", "/test-gateway/sessions/{session}/", roles=(BUYER,)),
    Page("my orders", "/orders/", roles=SIGNED_IN),
    Page("order, buyer", "/orders/{order}/", roles=(BUYER,)),
    Page("order, seller", "/orders/{order}/", roles=(SELLER,)),
    Page("order, steward", "/orders/{order}/", roles=(STEWARD,)),
    Page("orders sold", "/orders/selling/", roles=(SELLER,)),
    Page("my offers", "/offers/", roles=SIGNED_IN),
    Page("my bids", "/bids/", roles=SIGNED_IN),
    Page("saved (the demo buyer's: items and stalls; others' empty)", "/saved/", roles=SIGNED_IN),
    Page("payment settings", "/account/payments/", roles=SIGNED_IN),
    Page("become a seller", "/sell/", roles=(BUYER, STEWARD)),
    Page("seller dashboard", "/dashboard/stall/", roles=(SELLER,)),
    Page("auctions dashboard", "/dashboard/stall/auctions/", roles=(SELLER,)),
    Page("edit an item", "/dashboard/stall/items/{item}/", roles=(SELLER,)),
    Page("seller analytics", "/dashboard/stall/analytics/", roles=(SELLER,)),
    Page("admin", "/admin/", roles=(STEWARD,)),
    Page("ops analytics", "/ops/analytics/", roles=(STEWARD,)),
    Page("ops analytics, a range refused", "/ops/analytics/?start=2026-13-01", roles=(STEWARD,)),
    Page("admin: orders", "/admin/orders/order/", roles=(STEWARD,)),
    Page("admin: an order", "/admin/orders/order/{order_pk}/change/", roles=(STEWARD,)),
    Page("admin: chat messages", "/admin/stalls/chatmessage/", roles=(STEWARD,)),
    Page("stall reviews", "/stalls/{stall}/reviews/"),
    Page("order released, rate the seller", "/orders/{released_order}/", roles=(BUYER,)),
    Page("order reviewed, buyer", "/orders/{reviewed_order}/", roles=(BUYER,)),
    Page("order reviewed, seller", "/orders/{reviewed_order}/", roles=(SELLER,)),
    Page("admin: reviews", "/admin/reviews/review/", roles=(STEWARD,)),
    Page("account", "/account/", roles=SIGNED_IN),
    Page("change email", "/account/email/", roles=SIGNED_IN),
    Page("change password", "/account/password/", roles=SIGNED_IN),
    Page("where you're signed in", "/account/sessions/", roles=SIGNED_IN),
    Page("delete account", "/account/delete/", roles=SIGNED_IN),
    Page("notifications", "/notifications/", roles=SIGNED_IN),
    Page("notification settings", "/notifications/settings/", roles=SIGNED_IN),
    Page("unsubscribe", "/notifications/unsubscribe/{unsubscribe}/", roles=(GUEST,)),
    Page("stall running a show (flash auction, giveaway)", "/stalls/{show_stall}/"),
    Page("giveaway", "/giveaways/{giveaway}/"),
    Page("giveaway rules", "/giveaways/rules/"),
    Page("admin: giveaways", "/admin/giveaways/giveaway/", roles=(STEWARD,)),
    Page("admin: sections map", "/admin/sections/", roles=(STEWARD,)),
    Page("admin: steward queue", "/admin/queue/", roles=(STEWARD,)),
    Page("report a stall", "/report/stall/{stall}/", roles=(BUYER,)),
    Page("two-step verification", "/account/two-step/", roles=(STEWARD,)),
    Page("two-step code", "/account/two-step/verify/", roles=(STEWARD,)),
    Page("my reports", "/account/reports/", roles=SIGNED_IN),
    Page("my chat restrictions", "/account/sanctions/", roles=SIGNED_IN),
    Page("steward elections", "/elections/"),
]


def market_for_the_crawl() -> dict:
    """The demo market, small, with something in every page: an auction with bids, an
    offer, a cart, a paid order between the demo buyer and the demo seller."""
    from accounts.models import User
    from auctions.models import Auction
    from auctions.services.bidding import bid_place
    from bazaar.idempotency import new_key
    from market.seeding import seed_market
    from notifications.tokens import unsubscribe_token
    from offers.services import offer_make
    from orders.checkout.services import cart_add
    from stalls.models import Stall
    from stalls.selectors import items_with_availability, stall_for_user
    from tests.auctions.conftest import save_card
    from tests.orders.conftest import pay, start_checkout

    seed_market(sections=2, stalls=2)
    users = {role: User.objects.get(handle=f"demo_{role}") for role in SIGNED_IN}
    buyer, seller = users[BUYER], users[SELLER]
    stall = stall_for_user(user=seller)
    items = list(items_with_availability(stall=stall).filter(reserved=0).order_by("price_cents"))
    elsewhere = items_with_availability(stall=Stall.objects.exclude(pk=stall.pk).first())
    save_card(buyer)
    auction = Auction.objects.get(item__stall=stall)
    bid_place(
        bidder=buyer, auction=auction, amount_cents=auction.start_cents, idempotency_key=new_key()
    )
    offer_make(
        buyer=buyer,
        item=items[1],
        amount_cents=items[1].price_cents // 2,
        message="Would you take half?",
        idempotency_key=new_key(),
    )
    paid = start_checkout(buyer, items[0])
    pay(paid)
    released, reviewed = _released_orders(buyer, stall, elsewhere.first().stall)
    payment = start_checkout(buyer, elsewhere.filter(reserved=0).order_by("pk").first())
    cart_add(buyer=buyer, item=items[0])
    show_stall, giveaway = _show_running(elsewhere.first().stall)
    return {
        "users": users,
        "ids": {
            "stall": stall.public_id,
            "auction": auction.public_id,
            "auction_item": auction.item.public_id,
            "item": items[0].public_id,
            "order": paid.orders.get().public_id,
            "order_pk": paid.orders.get().pk,
            "payment": payment.public_id,
            "session": payment.session_id,
            "released_order": released.public_id,
            "reviewed_order": reviewed.public_id,
            "unsubscribe": unsubscribe_token(user_public_id=buyer.public_id, kind="outbid"),
            "show_stall": show_stall.public_id,
            "giveaway": giveaway.public_id,
        },
    }


def _show_running(stall) -> tuple:
    """The other stall's seller running show tools: a flash auction and an open
    giveaway, each of an item of its own, over their stall."""
    from datetime import timedelta

    from auctions.flash import flash_auction_start
    from bazaar.idempotency import new_key
    from giveaways.services import giveaway_open
    from tests.conftest import new_item

    seller = stall.seller.user
    flash_auction_start(
        actor=seller,
        item=new_item(stall, title="Copper kettle", price_cents=3000),
        start_cents=500,
        duration=timedelta(minutes=5),
        sudden_death=True,
        idempotency_key=new_key(),
    )
    giveaway = giveaway_open(
        actor=seller,
        item=new_item(stall, title="Tin whistle", price_cents=800),
        audience="everyone",
        idempotency_key=new_key(),
    )
    return stall, giveaway


def _released_orders(buyer, stall, other_stall) -> tuple:
    """Two orders released from escrow: one from another stall still to be rated, one
    from the demo seller's stall with a review (its answer form on the seller's pages)."""
    from bazaar.idempotency import new_key
    from orders.escrow.services import order_confirm_received, order_ship
    from reviews.services import review_create
    from tests.conftest import new_item
    from tests.orders.conftest import pay, start_checkout

    orders = []
    for shop, title in ((other_stall, "Spare teacup"), (stall, "Spare lampshade")):
        payment = start_checkout(buyer, new_item(shop, title=title, price_cents=900))
        pay(payment)
        order = payment.orders.get()
        order_ship(actor=shop.seller.user, order=order, carrier="UPS", tracking_number="1Z")
        orders.append(order_confirm_received(actor=buyer, order=order))
    review_create(
        buyer=buyer,
        order=orders[1],
        stars=4,
        text="Well packed and just as described. Slow to ship, though.",
        idempotency_key=new_key(),
    )
    return orders[0], orders[1]
