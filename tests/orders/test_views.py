"""Pages: cart, checkout, the test gateway's pages, orders (each sees only their own),
payment settings, the seller's payouts panel and the steward's dispute actions."""

import re

import pytest
from django.urls import reverse

from bazaar.ids import new_ulid
from governance.models import Role
from governance.services import role_grant
from offers.services import offer_accept, offer_make
from orders.escrow.services import order_dispute_open
from orders.models import MoneyMove, Order, Payment, StallShipping
from orders.payments.test_gateway import CARD_DECLINED
from tests.orders.conftest import start_checkout

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def test_add_to_cart_from_the_stall_page_with_htmx(client, lamp):
    page = client.get(reverse("stalls:detail", args=[lamp.stall.public_id])).content.decode()
    assert 'action="/cart/add/"' in page and "Add to cart" in page
    response = client.post(
        reverse("orders:cart_add"), {"item": lamp.public_id}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"In your cart" in response.content
    refused = client.post(
        reverse("orders:cart_add"), {"item": lamp.public_id}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 409 and b"Only 1 of" in refused.content
    # The whole cart button comes back (it may be sold out now) with the reason.
    assert refused["HX-Retarget"] == "closest [data-cart-button]"
    assert refused["HX-Reswap"] == "outerHTML"
    assert b"data-cart-error" in refused.content and b"<html" not in refused.content
    plain = client.post(reverse("orders:cart_add"), {"item": lamp.public_id}, follow=True)
    assert b"Only 1 of" in plain.content


def test_the_item_drawer_shows_add_to_cart_only_in_stock(client, lamp):
    url = reverse("stalls:item_drawer", args=[lamp.stall.public_id, lamp.public_id])
    assert re.search(r"<form[^>]*data-add-to-cart method", client.get(url).content.decode())
    lamp.inventory = 0
    lamp.save()
    # Still there for the page to show when a held unit comes back, but hidden.
    assert re.search(r"<form[^>]*data-add-to-cart hidden", client.get(url).content.decode())


def test_the_cart_button_is_refreshed_for_a_buyer_whose_offer_was_accepted(
    client, buyer, lamp, stall, key
):
    url = reverse("orders:cart_button", args=[lamp.public_id])
    client.force_login(buyer)
    assert "Add to cart" in client.get(url).content.decode()
    offer = offer_make(buyer=buyer, item=lamp, amount_cents=2000, message="", idempotency_key=key())
    offer_accept(actor=stall.seller.user, offer=offer, idempotency_key=key())
    button = client.get(url).content.decode()
    assert "Buy at your offer, $20.00" in button and "data-add-to-cart" not in button
    client.force_login(stall.seller.user)
    assert "<form" not in client.get(url).content.decode()
    assert client.get(reverse("orders:cart_button", args=[new_ulid()])).status_code == 404


def test_a_seller_is_not_offered_their_own_item(client, lamp):
    client.force_login(lamp.stall.seller.user)
    url = reverse("stalls:item_drawer", args=[lamp.stall.public_id, lamp.public_id])
    assert b"Add to cart" not in client.get(url).content
    page = client.get(reverse("stalls:detail", args=[lamp.stall.public_id])).content
    assert b"Add to cart" not in page


def test_cart_quantity_update_and_remove(client, buyer, vase):
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"item": vase.public_id})
    url = reverse("orders:cart_update", args=[vase.public_id])
    page = client.post(url, {"quantity": "3"}, follow=True).content.decode()
    assert 'value="3"' in page and "$54.00" in page
    page = client.post(url, {"remove": "1"}, follow=True).content.decode()
    assert "Your cart is empty" in page


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [("9", 409, "Only 3 of “Green vase” available."), ("abc", 400, "Choose a quantity.")],
)
def test_a_refused_quantity_shows_beside_its_line(client, buyer, vase, typed, status, message):
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"item": vase.public_id})
    response = client.post(
        reverse("orders:cart_update", args=[vase.public_id]), {"quantity": typed}
    )
    page = response.content.decode()
    assert response.status_code == status
    assert f'id="qty-error-{vase.public_id}" role="alert">{message}</p>' in page
    assert f'value="{typed}" aria-invalid="true"' in page
    assert "<h1>Your cart</h1>" in page
    assert buyer.cart_lines.get().quantity == 1  # nothing changed


def test_checkout_needs_login_and_shows_test_mode(client, buyer, lamp, vase):
    assert client.get(reverse("orders:checkout")).status_code == 302
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    client.post(reverse("orders:cart_add"), {"item": vase.public_id})
    page = client.get(reverse("orders:checkout")).content.decode()
    assert "Test mode." in page and "Pay $43.00" in page
    assert "Order from seller&#x27;s stall" in page and "Order from Green things" in page
    assert "1 Market Street" in page


def test_paying_through_the_pages_is_safe_to_repeat(client, buyer, lamp):
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    key = key_of(client.get(reverse("orders:checkout")).content.decode())
    form = {"idempotency_key": key, "total_cents": "2500"}
    first = client.post(reverse("orders:checkout_pay"), form)
    second = client.post(reverse("orders:checkout_pay"), form)
    payment = Payment.objects.get()
    assert first.url == second.url == payment.session_url

    gateway_page = client.get(payment.session_url).content.decode()
    assert "TEST MODE" in gateway_page and "Pay $25.00" in gateway_page
    declined = client.post(payment.session_url, {"card_number": CARD_DECLINED})
    assert declined.status_code == 402 and b"Your card was declined" in declined.content
    paid = client.post(payment.session_url, {"card_number": "4242 4242 4242 4242"})
    assert paid.url == f"http://testserver/payments/{payment.public_id}/"
    page = client.get(paid.url).content.decode()
    assert "Thank you, it's paid" in page and "Paid, held in escrow" in page
    again = client.post(reverse("orders:checkout_pay"), form)
    assert again.url == f"/payments/{payment.public_id}/"


def test_pay_refusals_come_back_as_messages(client, buyer, lamp):
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"item": lamp.public_id})
    no_key = client.post(reverse("orders:checkout_pay"), {"total_cents": "2500"}, follow=True)
    assert b"no valid idempotency key" in no_key.content
    stale = client.post(
        reverse("orders:checkout_pay"),
        {"idempotency_key": "k" * 20, "total_cents": "100"},
        follow=True,
    )
    assert b"changed since you looked" in stale.content
    assert client.post(reverse("orders:checkout_pay"), {"total_cents": "x"}).status_code == 400


def test_someone_elses_test_checkout_is_not_found(client, buyer, make_user, lamp):
    payment = start_checkout(buyer, lamp)
    client.force_login(make_user("stranger"))
    assert client.get(payment.session_url).status_code == 404
    assert client.get("/test-gateway/sessions/cs_test_nothing/").status_code == 404
    assert client.get(f"/payments/{payment.public_id}/").status_code == 404


def test_an_order_is_seen_by_its_buyer_and_seller_only(client, order, buyer, make_user):
    url = reverse("orders:detail", args=[order.public_id])
    assert client.get(url).status_code == 302
    client.force_login(make_user("stranger"))
    response = client.get(url)
    assert response.status_code == 404 and b"No order of yours" in response.content
    for method in ("ship", "received", "dispute", "cancel"):
        posted = client.post(reverse(f"orders:{method}", args=[order.public_id]))
        assert posted.status_code == 404
    client.force_login(buyer)
    page = client.get(url).content.decode()
    assert "The seller ships by" in page and "Open a dispute" in page
    assert "Mark as shipped" not in page
    client.force_login(order.stall.seller.user)
    page = client.get(url).content.decode()
    assert "Mark as shipped" in page and "bought by @buyer" in page


def test_order_lists_show_only_ones_own(client, order, buyer, make_user, other_stall):
    client.force_login(buyer)
    assert order.public_id in client.get(reverse("orders:list")).content.decode()
    assert order.public_id not in client.get(reverse("orders:selling")).content.decode()
    client.force_login(order.stall.seller.user)
    assert order.public_id in client.get(reverse("orders:selling")).content.decode()
    client.force_login(other_stall.seller.user)
    assert order.public_id not in client.get(reverse("orders:selling")).content.decode()
    assert order.public_id not in client.get(reverse("orders:list")).content.decode()


def test_the_seller_ships_and_the_buyer_confirms_through_the_pages(client, order, buyer):
    url = reverse("orders:detail", args=[order.public_id])
    seller = order.stall.seller.user
    client.force_login(buyer)
    refused = client.post(reverse("orders:ship", args=[order.public_id]), {"carrier": "x"})
    assert refused.status_code == 400
    forbidden = client.post(
        reverse("orders:ship", args=[order.public_id]),
        {"carrier": "UPS", "tracking_number": "1", "idempotency_key": "k" * 20},
    )
    assert forbidden.status_code == 403
    client.force_login(seller)
    shipped = client.post(
        reverse("orders:ship", args=[order.public_id]),
        {"carrier": "UPS", "tracking_number": "1Z42", "idempotency_key": "s" * 20},
        follow=True,
    ).content.decode()
    assert "Marked as shipped" in shipped and "tracking number <strong>1Z42</strong>" in shipped
    client.force_login(buyer)
    page = client.get(url).content.decode()
    assert "Escrow ends" in page and "Yes, I received it" in page
    done = client.post(
        reverse("orders:received", args=[order.public_id]),
        {"idempotency_key": "r" * 20},
        follow=True,
    ).content.decode()
    assert "Released to the seller" in done
    assert "Payout to seller" not in done and "fee" not in done  # the seller's business
    client.force_login(seller)
    assert "Payout to seller" in client.get(url).content.decode()
    client.force_login(buyer)
    again = client.post(
        reverse("orders:received", args=[order.public_id]),
        {"idempotency_key": "x" * 20},
        follow=True,
    ).content.decode()
    assert "it cannot become received now" in again


def test_a_dispute_form_without_a_reason_is_refused(client, order, buyer):
    client.force_login(buyer)
    response = client.post(
        reverse("orders:dispute", args=[order.public_id]), {"idempotency_key": "d" * 20}
    )
    assert response.status_code == 400 and b"This field is required" in response.content


def test_saving_a_card_through_the_test_gateway(client, buyer):
    client.force_login(buyer)
    home = client.get(reverse("market:home"), follow=True).content.decode()
    assert f'href="{reverse("account:hub")}"' in home  # the handle in the top bar
    hub = client.get(reverse("account:hub")).content.decode()
    assert f'href="{reverse("orders:account")}"' in hub
    page = client.get(reverse("orders:account")).content.decode()
    assert "Save a card" in page
    setup = client.post(reverse("orders:card_setup"), {"idempotency_key": key_of(page)})
    assert setup.url.startswith("/test-gateway/sessions/cs_test_")
    assert b"Save a test card" in client.get(setup.url).content
    saved = client.post(setup.url, {"card_number": "4242424242424242"}, follow=True)
    assert b"Visa ending in <strong>4242</strong>" in saved.content
    client.post(reverse("orders:card_forget"))
    assert b"Save a card" in client.get(reverse("orders:account")).content


def test_address_form_errors_are_shown(client, make_user):
    client.force_login(make_user("new"))
    response = client.post(reverse("orders:address_save"), {"name": "X"}, follow=True)
    assert b"Fill in every line" in response.content


def test_the_payouts_panel_on_the_dashboard(client, stall):
    client.force_login(stall.seller.user)
    dashboard = client.get(reverse("stalls:dashboard")).content.decode()
    assert 'id="payouts-panel"' in dashboard and "Payouts not connected" in dashboard
    panel = client.get(reverse("orders:payouts")).content.decode()
    assert "Payouts not connected" in panel and "Platform fee: 5% of each order" in panel
    saved = client.post(reverse("orders:payouts"), {"shipping": "4.50"}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200 and b"Saved." in saved.content
    assert StallShipping.objects.get().cost_cents == 450
    bad = client.post(reverse("orders:payouts"), {"shipping": "lots"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and b"Enter an amount" in bad.content

    connect = client.post(reverse("orders:payouts_connect"))
    assert connect.url.startswith("/test-gateway/accounts/acct_test_")
    assert b"Finish onboarding (test)" in client.get(connect.url).content
    done = client.post(connect.url, follow=True).content.decode()
    assert "Payouts are connected" in done
    assert "Payouts connected" in client.get(reverse("orders:payouts")).content.decode()


def test_a_buyer_without_a_stall_gets_an_empty_panel_and_no_onboarding(client, buyer):
    client.force_login(buyer)
    assert client.get(reverse("orders:payouts")).content == b""
    assert client.post(reverse("orders:payouts_connect")).status_code == 403
    assert client.get("/test-gateway/accounts/acct_test_x/").status_code == 404


def test_a_steward_settles_a_dispute_with_a_partial_refund_in_the_admin(
    client, order, buyer, make_user, on_commit
):
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Scratched.")
    steward = make_user("steward")
    role_grant(user=steward, role=Role.STEWARD, granted_by=None)
    client.force_login(steward)
    changelist = reverse("admin:orders_order_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"chargeback": "yes"}).status_code == 200
    form = {"action": "settle_refund_part", "_selected_action": [order.pk]}
    page = client.post(changelist, form)
    assert page.status_code == 200 and b"Refund to the buyer" in page.content
    bad = client.post(
        changelist, {**form, "apply": "1", "refund": "99", "reason": "Chipped"}, follow=True
    )
    assert b"Refund between $0.00 and $25.00." in bad.content
    assert Order.objects.get().status == Order.Status.DISPUTED
    client.post(changelist, {**form, "apply": "1", "refund": "5.00", "reason": "Chipped"})
    order.refresh_from_db()
    assert order.status == Order.Status.PARTLY_REFUNDED and order.refunded_cents == 500
    assert set(MoneyMove.objects.values_list("kind", "amount_cents")) == {
        ("refund", 500),
        ("transfer", 2000 - 100),
    }
