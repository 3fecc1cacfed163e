"""Closing an account: refused with the list of what still binds the person (open
orders either side, an auction to pay for, a stall); otherwise personal data erased,
the account unable to log in, and orders and reviews kept for the other side."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import SignIn, User
from bazaar.errors import Conflict
from orders.checkout.services import cart_add
from orders.models import CartLine, Order, SavedCard, ShippingAddress
from privacy.selectors import deletion_blockers
from privacy.services import account_delete
from reviews.services import review_create
from tests.reviews.conftest import paid_order, released_order

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
DELETE = reverse("privacy:delete")


def test_a_buyer_with_finished_orders_is_anonymised_and_the_orders_stay(
    client,
    buyer,
    lamp,
    stall,
    make_item,
    key,
):
    order = released_order(buyer, lamp)
    review_create(buyer=buyer, order=order, stars=5, text="Lovely", idempotency_key=key())
    cart_add(buyer=buyer, item=make_item(stall, title="Jug"))
    SavedCard.objects.create(buyer=buyer, gateway="test", customer_id="cus_1", last4="4242")
    elsewhere = Client()
    elsewhere.force_login(buyer)
    client.force_login(buyer)
    page = client.get(DELETE).content.decode()
    assert "What happens" in page and "Delete my account" in page

    response = client.post(DELETE, {"password": PASSWORD}, follow=True)
    assert "Your account is deleted." in response.content.decode()
    assert SESSION_KEY not in client.session
    gone = User.objects.get(pk=buyer.pk)
    assert gone.handle.startswith("deleted_") and gone.email.endswith("@deleted.invalid")
    assert not gone.is_active and not gone.has_usable_password()
    assert not ShippingAddress.objects.filter(buyer=gone).exists()
    assert not SavedCard.objects.filter(buyer=gone).exists()
    assert not CartLine.objects.filter(buyer=gone).exists()
    assert not SignIn.objects.filter(user=gone).exists()
    assert not elsewhere.session.exists(elsewhere.session.session_key)
    kept = Order.objects.get(pk=order.pk)
    assert kept.buyer_id == gone.pk and "1 Market Street" in kept.ship_to
    stall_page = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert "Lovely" in stall_page and f"@{gone.handle}" in stall_page
    for name in ("buyer", "buyer@example.com"):
        refused = client.post(reverse("accounts:login"), {"username": name, "password": PASSWORD})
        assert refused.status_code == 200 and SESSION_KEY not in client.session


def test_the_old_handle_and_email_are_free_again(client, make_user):
    person = make_user("leaver", email="leaver@example.com")
    account_delete(user=person)
    again = make_user("leaver", email="leaver@example.com")
    assert again.pk != person.pk


def test_a_wrong_password_deletes_nothing(client, make_user):
    person = make_user("careful")
    client.force_login(person)
    response = client.post(DELETE, {"password": "nope"})
    html = response.content.decode()
    assert response.status_code == 400 and html.count("That is not your current password.") == 2
    person.refresh_from_db()
    assert person.is_active and person.handle == "careful"
    missing = client.post(DELETE, {"password": ""})
    assert missing.status_code == 400 and "Enter your current password." in missing.content.decode()


def test_open_orders_either_side_block_deletion_with_a_list(client, buyer, lamp, stall):
    order = paid_order(buyer, lamp)
    client.force_login(buyer)
    page = client.get(DELETE).content.decode()
    assert "First, finish this" in page and "Delete my account" not in page
    assert "An order you bought from seller&#x27;s stall is paid, held in escrow" in page
    assert f'href="/orders/{order.public_id}/"' in page
    refused = client.post(DELETE, {"password": PASSWORD})
    assert refused.status_code == 409 and "First, finish this" in refused.content.decode()
    buyer.refresh_from_db()
    assert buyer.is_active

    seller_texts = [b.text for b in deletion_blockers(user=stall.seller.user)]
    assert any("sold from your stall" in text for text in seller_texts)
    assert any("You run the stall" in text for text in seller_texts)


def test_the_service_itself_refuses_while_something_binds(buyer, lamp):
    paid_order(buyer, lamp)
    with pytest.raises(Conflict, match="cannot be deleted yet"):
        account_delete(user=buyer)
    assert User.objects.get(pk=buyer.pk).is_active


def test_leading_a_live_auction_blocks_deletion(make_user, stall, make_item, key):
    from auctions.services.bidding import bid_place
    from tests.auctions.conftest import save_card
    from tests.discovery.conftest import auctioned

    bidder = make_user("bidder")
    save_card(bidder)
    auction = auctioned(make_item(stall, title="Gong"))
    bid_place(bidder=bidder, auction=auction, amount_cents=1000, idempotency_key=key())
    texts = [b.text for b in deletion_blockers(user=bidder)]
    assert texts == [
        "You are the highest bidder for “Gong”: the auction must end and be paid first."
    ]
    assert deletion_blockers(user=make_user("watcher")) == []


@pytest.mark.parametrize("who", ["anonymous", "buyer", "seller", "steward"])
def test_authorization_matrix_for_deletion(client, make_user, stall, who):
    """The page only ever closes the signed-in person's own account; a seller is held
    back by their stall."""
    from governance.models import Role
    from governance.services import role_grant

    people = {
        "buyer": make_user("shopper"),
        "seller": stall.seller.user,
        "steward": make_user("warden"),
    }
    role_grant(user=people["steward"], role=Role.STEWARD)
    if who != "anonymous":
        client.force_login(people[who])
    response = client.post(DELETE, {"password": PASSWORD})
    expected = {"anonymous": 302, "buyer": 302, "seller": 409, "steward": 302}[who]
    assert response.status_code == expected
    if who == "anonymous":
        assert response.url.startswith(reverse("accounts:login"))
    for name, person in people.items():
        person.refresh_from_db()
        assert person.is_active == (name != who or who == "seller")
    if who == "steward":
        assert not User.objects.get(pk=people["steward"].pk).is_staff
