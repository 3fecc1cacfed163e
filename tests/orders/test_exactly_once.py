"""Exactly once at checkout (issue 15): a buyer's own held units are theirs on the cart
and checkout pages, a checkout repeated while the first is in flight gets the first's
session, and the test gateway charges a session once however often it is completed."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from bazaar.ids import new_ulid
from orders.checkout.selectors import cart_entries_for_buyer, cart_plan
from orders.checkout.services import cart_add, checkout_start
from orders.models import Payment, TestGatewayObject, WebhookEvent
from orders.payments.test_gateway import CARD_OK, TestGateway
from stalls.selectors import item_available_quantity
from tests.conftest import race
from tests.orders.conftest import URLS, start_checkout


def text(response) -> str:
    return html.unescape(response.content.decode())


# 1. The buyer's own hold is theirs


@pytest.mark.django_db
def test_back_from_the_payment_page_the_held_unit_is_the_buyers_not_sold_out(client, buyer, lamp):
    payment = start_checkout(buyer, lamp)  # then "Back" on the payment page: still open
    client.force_login(buyer)
    cart = text(client.get(reverse("orders:cart")))
    assert "sold out" not in cart
    assert "Resume payment" in cart and payment.session_url in cart
    assert reverse("orders:checkout_release", args=[payment.public_id]) in cart
    checkout = text(client.get(reverse("orders:checkout")))
    assert "sold out" not in checkout and "Resume payment" in checkout
    assert 'class="button primary pay" >Pay' in checkout  # on offer, not disabled


@pytest.mark.django_db
def test_the_buyer_may_change_the_quantity_of_what_they_hold(buyer, stall, make_item):
    from orders.checkout.services import cart_set_quantity

    vase = make_item(stall, title="Vase", price_cents=1000, inventory=2)
    start_checkout(buyer, vase)  # one held, one left
    cart_set_quantity(buyer=buyer, item=vase, quantity=2)
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    assert plan.problems == [] and plan.lines[0].held == 1


@pytest.mark.django_db
def test_someone_elses_hold_still_reads_as_sold_out(client, make_buyer, buyer, lamp):
    other = make_buyer("other")
    cart_add(buyer=other, item=lamp)
    start_checkout(buyer, lamp)
    client.force_login(other)
    cart = text(client.get(reverse("orders:cart")))
    assert "sold out" in cart and "Resume payment" not in cart


@pytest.mark.django_db
def test_paying_again_from_checkout_replaces_the_held_checkout(buyer, lamp):
    first = start_checkout(buyer, lamp)
    plan = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer))
    assert plan.problems == [] and plan.open_checkout == first
    second = checkout_start(
        buyer=buyer, idempotency_key=new_ulid(), expected_total_cents=plan.total_cents, urls=URLS
    )
    first.refresh_from_db()
    assert first.status == Payment.Status.CANCELLED and second.status == Payment.Status.OPEN
    assert item_available_quantity(item=lamp) == 0


@pytest.mark.django_db
def test_release_ends_the_checkout_and_puts_the_unit_back_on_sale(client, buyer, lamp, on_commit):
    payment = start_checkout(buyer, lamp)
    client.force_login(buyer)
    url = reverse("orders:checkout_release", args=[payment.public_id])
    response = on_commit(client.post, url, follow=True)
    assert "Released" in text(response) and "back on sale" in text(response)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert item_available_quantity(item=lamp) == 1
    assert TestGateway().get(payment.session_id, "checkout.session")["status"] == "expired"
    page = text(client.get(reverse("orders:cart")))
    assert "Resume payment" not in page and "sold out" not in page
    again = text(client.post(url, follow=True))  # a second press says the same
    assert "Released" in again


@pytest.mark.django_db
def test_release_after_paying_says_it_is_paid_and_changes_nothing(client, buyer, lamp):
    from tests.orders.conftest import pay

    payment = start_checkout(buyer, lamp)
    pay(payment)
    client.force_login(buyer)
    url = reverse("orders:checkout_release", args=[payment.public_id])
    response = client.post(url, follow=True)
    assert "already paid" in text(response)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.django_db
def test_a_stranger_cannot_release_someone_elses_checkout(client, make_buyer, buyer, lamp):
    payment = start_checkout(buyer, lamp)
    client.force_login(make_buyer("stranger"))
    url = reverse("orders:checkout_release", args=[payment.public_id])
    assert client.post(url).status_code == 404
    payment.refresh_from_db()
    assert payment.status == Payment.Status.OPEN


# 2. and 3. on PostgreSQL, with threads released together


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_checkout_submitted_twice_at_once_gets_the_first_ones_session(
    require_postgres, buyer, lamp
):
    """Back from the payment page (its checkout still open) the buyer presses Pay and
    the request is sent twice: both answers are the new checkout's one session."""
    start_checkout(buyer, lamp)
    total = cart_plan(buyer=buyer, entries=cart_entries_for_buyer(buyer=buyer)).total_cents
    key = new_ulid()

    def pay_once():
        return checkout_start(
            buyer=buyer, idempotency_key=key, expected_total_cents=total, urls=URLS
        )

    outcomes = race(pay_once, pay_once, pay_once)
    assert all(isinstance(o, Payment) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert len({o.session_url for o in outcomes}) == 1 and outcomes[0].session_url
    assert Payment.objects.filter(buyer=buyer, status=Payment.Status.OPEN).count() == 1
    assert item_available_quantity(item=lamp) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_completing_a_test_session_three_times_at_once_charges_once(require_postgres, buyer, lamp):
    """As Stripe: one charge per session, and each of the three posts gets the same
    answer (the buyer lands on the same paid payment)."""
    payment = start_checkout(buyer, lamp)
    url = payment.session_url

    def post_card():
        browser = Client()
        browser.force_login(buyer)
        response = browser.post(url, {"card_number": CARD_OK})
        return response.status_code, response.headers.get("Location")

    outcomes = race(post_card, post_card, post_card)
    success = reverse("orders:payment", args=[payment.public_id])
    assert all(o == (302, f"http://testserver{success}") for o in outcomes), outcomes
    assert TestGatewayObject.objects.filter(kind="charge").count() == 1
    assert TestGatewayObject.objects.filter(kind="payment_intent").count() == 1
    assert WebhookEvent.objects.filter(type="checkout.session.completed").count() == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_completing_a_session_again_answers_with_the_first_completion(
    require_postgres, buyer, lamp
):
    payment = start_checkout(buyer, lamp)
    gateway = TestGateway()
    outcomes = race(
        *[lambda: gateway.session_complete(session_id=payment.session_id, card_number=CARD_OK)] * 3
    )
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert len({o["id"] for o in outcomes}) == 1
    assert len({o["data"]["object"]["payment_intent"] for o in outcomes}) == 1
    assert TestGatewayObject.objects.filter(kind="charge").count() == 1
