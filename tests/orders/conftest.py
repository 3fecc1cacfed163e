"""Fixtures for orders: buyers with an address, two stalls, and helpers that walk a
checkout through the local test gateway as a buyer's browser would."""

import pytest

from bazaar.ids import new_ulid
from orders.checkout.selectors import cart_entries_for_buyer, cart_plan
from orders.checkout.services import CheckoutUrls, cart_add, checkout_start, shipping_address_save
from orders.models import Payment
from orders.payments.services import payout_onboarding_link
from orders.payments.test_gateway import CARD_OK, TestGateway
from orders.payments.webhooks import event_handle

URLS = CheckoutUrls(base_url="http://testserver")


@pytest.fixture
def make_buyer(make_user):
    def make(handle=None):
        buyer = make_user(handle)
        shipping_address_save(
            buyer=buyer,
            name=f"{buyer.handle} Person",
            line1="1 Market Street",
            line2="",
            city="Springfield",
            postal_code="12345",
            country="US",
        )
        return buyer

    return make


@pytest.fixture
def buyer(make_buyer):
    return make_buyer("buyer")


@pytest.fixture
def lamp(stall, make_item):
    return make_item(stall, title="Brass lamp", price_cents=2500, inventory=1)


@pytest.fixture
def other_stall(make_stall):
    return make_stall("seller2", slot=1, name="Green things")


@pytest.fixture
def vase(other_stall, make_item):
    return make_item(other_stall, title="Green vase", price_cents=1800, inventory=3)


def start_checkout(buyer, *items, key=None) -> Payment:
    for item in items:
        cart_add(buyer=buyer, item=item)
    total = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer)).total_cents
    return checkout_start(
        buyer=buyer, idempotency_key=key or new_ulid(), expected_total_cents=total, urls=URLS
    )


def pay(payment: Payment, card: str = CARD_OK):
    """The buyer pays on the test gateway's page: its event goes through the same
    processing as Stripe's webhooks."""
    event = TestGateway().session_complete(session_id=payment.session_id, card_number=card)
    return event_handle(event=event, gateway_name="test")


def connect_payouts(seller_user):
    """The seller connects payouts with the test gateway (account.updated event)."""
    payout_onboarding_link(user=seller_user, base_url="http://testserver")
    account = seller_user.seller_profile.payout_account
    event = TestGateway().onboarding_complete(account_id=account.account_id)
    return event_handle(event=event, gateway_name="test")


def save_address(buyer) -> None:
    """The shopper's address in New York, as a checkout needs one."""
    from orders.checkout.services import shipping_address_save

    shipping_address_save(
        buyer=buyer,
        name="Sam Shopper",
        line1="12 Canal Street",
        line2="",
        city="New York",
        postal_code="10013",
        country="US",
    )


@pytest.fixture
def order(buyer, lamp, on_commit):
    """The buyer's paid order of the lamp."""
    payment = start_checkout(buyer, lamp)
    on_commit(pay, payment)
    return payment.orders.get()
