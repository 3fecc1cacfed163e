"""The Stripe implementation of the gateway.

Payment intents, setup intents and refunds run against localstripe (a stateful fake
Stripe server, started here on a loopback port, API version pinned). What localstripe
lacks (Checkout Sessions, Connect accounts and links, transfers, `transfer_group` on
payment intents) goes through stripe-python with a recording HTTP client that checks
the exact requests: amounts, metadata, transfer group, `source_transaction`, expiry
and idempotency keys.
"""

import json
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qsl, quote

import pytest
import stripe
from django.test import override_settings
from django.utils import timezone

from bazaar.ids import new_ulid
from orders.checkout.services import order_create_for_auction
from orders.escrow.services import order_confirm_received, order_ship
from orders.models import MoneyMove, Order, Payment, PayoutAccount, SavedCard
from orders.payments.gateway import CardDeclined
from orders.payments.services import PaymentFailed, money_move_send, payment_paid
from orders.payments.stripe_gateway import StripeGateway
from stalls.models import Reservation
from stalls.services import reservation_take
from tests.orders.conftest import start_checkout

API_VERSION = "2026-10-28.endive"


# localstripe


class LocalstripeClient(stripe.HTTPClient):
    """Forwards to localstripe, dropping the parameters it does not know (it answers
    400 "Unexpected …" to them); the recording tests below check those exactly."""

    name = "localstripe"
    UNSUPPORTED = ("transfer_group",)

    def __init__(self):
        super().__init__()
        self.inner = stripe.new_default_http_client()

    def request(self, method, url, headers, post_data=None, **kwargs):
        if post_data:
            pairs = [
                (key, value)
                for key, value in parse_qsl(post_data, keep_blank_values=True)
                if key not in self.UNSUPPORTED
            ]
            post_data = "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs)
        return self.inner.request(method, url, headers, post_data)

    def close(self):
        self.inner.close()


@pytest.fixture(scope="module")
def localstripe_url():
    from bench._servers import free_port, wait_for_port

    port = free_port()
    code = (
        "from aiohttp import web; from localstripe.server import app; "
        f"web.run_app(app, host='127.0.0.1', port={port}, print=None)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def live(localstripe_url):
    """A StripeGateway on localstripe, with the settings that select it."""
    with override_settings(
        STRIPE_SECRET_KEY="sk_test_localstripe",
        STRIPE_API_BASE=localstripe_url,
        STRIPE_API_VERSION=API_VERSION,
        PAYMENT_GATEWAY="stripe",
    ):
        original = StripeGateway.from_settings.__func__

        def from_settings(cls, **options):
            return original(cls, http_client=LocalstripeClient(), **options)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(StripeGateway, "from_settings", classmethod(from_settings))
            yield StripeGateway.from_settings()


def saved_card(gateway: StripeGateway, number: str) -> tuple[str, str]:
    """A customer with a card saved by a confirmed off-session setup intent."""
    client = gateway.client
    customer = gateway.customer_create(email="b@example.com", metadata={}, idempotency_key="c")
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )
    intent = client.v1.setup_intents.create(
        params={"customer": customer, "payment_method_types": ["card"], "usage": "off_session"}
    )
    intent = client.v1.setup_intents.confirm(intent.id, params={"payment_method": method.id})
    return customer, intent.id


def charge_a_saved_card(gateway: StripeGateway, number: str, *, metadata: dict, key: str):
    """Save the card `number`, then charge it $30 off session."""
    customer, setup_intent = saved_card(gateway, number)
    card = gateway.setup_card(setup_intent_id=setup_intent)
    return gateway.charge_saved_card(
        amount_cents=3000,
        currency="USD",
        customer_id=customer,
        payment_method_id=card.payment_method_id,
        metadata=metadata,
        transfer_group=f"payment_{key}",
        idempotency_key=key,
    )


def save_card_for(gateway: StripeGateway, buyer, number: str) -> None:
    """`buyer`'s card `number` saved on localstripe, as a finished setup session leaves it."""
    customer, setup_intent = saved_card(gateway, number)
    card = gateway.setup_card(setup_intent_id=setup_intent)
    SavedCard.objects.create(
        buyer=buyer,
        gateway="stripe",
        customer_id=customer,
        payment_method_id=card.payment_method_id,
    )


def auction_hold(buyer, item) -> Reservation:
    """The unit an auction holds for its leader."""
    return reservation_take(
        item=item, holder=buyer, reason=Reservation.Reason.AUCTION, ttl=timedelta(hours=1)
    )


def auction_won(buyer, item, reservation, *, price_cents: int, reference: str) -> Order:
    """The auction closed: its winner's saved card is charged in dollars."""
    return order_create_for_auction(
        buyer=buyer,
        item=item,
        price_cents=price_cents,
        currency="USD",
        reservation=reservation,
        reference=reference,
    )


def test_localstripe_setup_intent_gives_the_saved_card(live):
    customer, setup_intent = saved_card(live, "4242424242424242")
    card = live.setup_card(setup_intent_id=setup_intent)
    assert card.customer_id == customer
    assert card.payment_method_id.startswith("pm_")
    assert (card.brand, card.last4) == ("visa", "4242")


def test_localstripe_off_session_charge_and_partial_then_full_refund(live):
    charge = charge_a_saved_card(
        live, "4242424242424242", metadata={"payment": "P1"}, key="auction-r1"
    )
    assert charge.payment_intent_id.startswith("pi_") and charge.charge_id.startswith("ch_")
    assert live.charge_of(payment_intent_id=charge.payment_intent_id) == charge.charge_id
    first = live.refund_create(
        payment_intent_id=charge.payment_intent_id,
        amount_cents=1000,
        metadata={"order": "O1"},
        idempotency_key="refund-1",
    )
    rest = live.refund_create(
        payment_intent_id=charge.payment_intent_id,
        amount_cents=2000,
        metadata={"order": "O1"},
        idempotency_key="refund-2",
    )
    assert first.startswith("re_") and rest.startswith("re_") and first != rest
    intent = live.client.v1.payment_intents.retrieve(charge.payment_intent_id).to_dict()
    latest = intent["latest_charge"]
    assert (latest["amount"], latest["amount_refunded"]) == (3000, 3000)


def test_localstripe_declines_the_off_session_test_card(live):
    with pytest.raises(CardDeclined, match="declined"):
        charge_a_saved_card(live, "4000000000000341", metadata={}, key="auction-r2")


@pytest.mark.django_db
def test_an_auction_order_against_localstripe(live, buyer, lamp):
    save_card_for(live, buyer, "4242424242424242")
    reservation = auction_hold(buyer, lamp)
    order = auction_won(buyer, lamp, reservation, price_cents=4000, reference="auction-lamp-1")
    assert order.status == Order.Status.PAID_ESCROW and order.total_cents == 4000
    assert order.payment.payment_intent_id.startswith("pi_")
    assert order.payment.charge_id.startswith("ch_")
    again = auction_won(buyer, lamp, reservation, price_cents=4000, reference="auction-lamp-1")
    assert again == order
    assert Payment.objects.count() == 1

    lamp.refresh_from_db()
    assert lamp.inventory == 0


@pytest.mark.django_db
def test_a_declined_auction_charge_against_localstripe(live, make_buyer, vase):
    loser = make_buyer("declined")
    save_card_for(live, loser, "4000000000000341")
    reservation = auction_hold(loser, vase)
    for _ in range(2):  # the same reference again is refused the same way, not recharged
        with pytest.raises(PaymentFailed, match="declined"):
            auction_won(loser, vase, reservation, price_cents=2000, reference="auction-vase-1")
    reservation.refresh_from_db()
    assert reservation.consumed_at is None and reservation.released_at is None
    assert Payment.objects.get().status == "failed"


# The recording HTTP client


class RecordingClient(stripe.HTTPClient):
    """Answers each request with the next canned body and keeps what was sent."""

    name = "recording"

    def __init__(self, *answers: dict):
        super().__init__()
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, url, headers, post_data=None, **kwargs):
        self.requests.append(
            {
                "method": method,
                "url": url,
                "headers": dict(headers),
                "params": dict(parse_qsl(post_data or "", keep_blank_values=True)),
            }
        )
        return json.dumps(self.answers.pop(0)), 200, {"request-id": "req_recorded"}

    def close(self):
        pass


@pytest.fixture
def recorded():
    """(install, client): `install(*answers)` makes every StripeGateway record."""
    state = {}

    def install(*answers):
        client = RecordingClient(*answers)
        state["client"] = client
        return client

    with override_settings(
        STRIPE_SECRET_KEY="sk_test_recorded",
        STRIPE_API_BASE="",
        STRIPE_API_VERSION=API_VERSION,
        PAYMENT_GATEWAY="stripe",
    ):
        original = StripeGateway.from_settings.__func__

        def from_settings(cls, **options):
            return original(cls, http_client=state["client"], **options)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(StripeGateway, "from_settings", classmethod(from_settings))
            yield install


def recorded_checkout(recorded, buyer, *items):
    """A checkout of one of each item, its Checkout Session answered by a recording
    client. Returns (client, payment)."""
    client = recorded(
        {"id": "cs_test_1", "object": "checkout.session", "url": "https://checkout.stripe.com/c/1"}
    )
    return client, start_checkout(buyer, *items)


def test_requests_carry_the_pinned_version_and_the_idempotency_key(recorded):
    client = recorded({"id": "cus_1", "object": "customer"})
    StripeGateway.from_settings().customer_create(
        email="a@example.com", metadata={"buyer": "B"}, idempotency_key="customer-B"
    )
    sent = client.requests[0]
    assert (sent["method"], sent["url"]) == ("post", "https://api.stripe.com/v1/customers")
    assert sent["headers"]["Stripe-Version"] == API_VERSION
    assert sent["headers"]["Idempotency-Key"] == "customer-B"
    assert sent["headers"]["Authorization"] == "Bearer sk_test_recorded"
    assert sent["params"] == {"email": "a@example.com", "metadata[buyer]": "B"}


@pytest.mark.django_db
def test_checkout_creates_the_exact_checkout_session(recorded, buyer, lamp, vase, stall):
    from orders.escrow.services import stall_shipping_set

    stall_shipping_set(actor=stall.seller.user, stall=stall, cost_cents=450)
    client, payment = recorded_checkout(recorded, buyer, lamp, vase)
    assert payment.amount_cents == 4750
    assert (payment.session_id, payment.session_url) == (
        "cs_test_1",
        "https://checkout.stripe.com/c/1",
    )
    sent = client.requests[0]
    assert sent["url"] == "https://api.stripe.com/v1/checkout/sessions"
    assert sent["headers"]["Idempotency-Key"] == f"checkout-{payment.public_id}"
    orders = ",".join(payment.orders.order_by("pk").values_list("public_id", flat=True))
    assert sent["params"] == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "2500",
        "line_items[0][price_data][product_data][name]": "Brass lamp",
        "line_items[0][quantity]": "1",
        "line_items[1][price_data][currency]": "usd",
        "line_items[1][price_data][unit_amount]": "450",
        "line_items[1][price_data][product_data][name]": "Shipping from seller's stall",
        "line_items[1][quantity]": "1",
        "line_items[2][price_data][currency]": "usd",
        "line_items[2][price_data][unit_amount]": "1800",
        "line_items[2][price_data][product_data][name]": "Green vase",
        "line_items[2][quantity]": "1",
        "customer_email": "buyer@example.com",
        "client_reference_id": payment.public_id,
        "metadata[payment]": payment.public_id,
        "metadata[orders]": orders,
        "payment_intent_data[transfer_group]": f"payment_{payment.public_id}",
        "payment_intent_data[metadata][payment]": payment.public_id,
        "payment_intent_data[metadata][orders]": orders,
        "expires_at": str(int(payment.expires_at.timestamp())),
        "success_url": f"http://testserver/payments/{payment.public_id}/",
        "cancel_url": "http://testserver/cart/",
    }
    assert int(sent["params"]["expires_at"]) - int(timezone.now().timestamp()) in range(
        29 * 60, 30 * 60 + 1
    )


@pytest.mark.django_db
def test_expiring_a_session_and_finding_it_completed(recorded):
    client = recorded({"id": "cs_1", "object": "checkout.session", "status": "expired"})
    assert StripeGateway.from_settings().checkout_session_expire(session_id="cs_1")
    assert client.requests[0]["url"] == "https://api.stripe.com/v1/checkout/sessions/cs_1/expire"


def test_a_session_that_completed_cannot_be_expired():
    class Refusing(RecordingClient):
        def request(self, method, url, headers, post_data=None, **kwargs):
            if url.endswith("/expire"):
                self.requests.append({"url": url})
                body = {"error": {"type": "invalid_request_error", "message": "not open"}}
                return json.dumps(body), 400, {}
            return super().request(method, url, headers, post_data)

    refusing = Refusing({"id": "cs_2", "object": "checkout.session", "status": "complete"})
    gateway = StripeGateway(
        stripe.StripeClient("sk_test_x", stripe_version=API_VERSION, http_client=refusing)
    )
    assert gateway.checkout_session_expire(session_id="cs_2") is False
    assert [r["url"].rsplit("/", 1)[-1] for r in refusing.requests] == ["expire", "cs_2"]


@pytest.mark.django_db
def test_release_sends_a_transfer_from_the_shared_charge(recorded, buyer, lamp, on_commit):
    client, payment = recorded_checkout(recorded, buyer, lamp)
    payment_paid(payment=payment, payment_intent_id="pi_shared", charge_id="ch_shared")
    seller = lamp.stall.seller
    PayoutAccount.objects.create(
        seller=seller, gateway="stripe", account_id="acct_seller", payouts_enabled=True
    )
    order = Order.objects.get()
    order_ship(actor=seller.user, order=order, carrier="UPS", tracking_number="1Z")
    client.answers.append({"id": "tr_1", "object": "transfer"})
    on_commit(order_confirm_received, actor=buyer, order=order)
    move = MoneyMove.objects.get()
    assert (move.status, move.gateway_id) == ("done", "tr_1")
    sent = client.requests[-1]
    assert sent["url"] == "https://api.stripe.com/v1/transfers"
    assert sent["headers"]["Idempotency-Key"] == f"transfer-{move.public_id}"
    assert sent["params"] == {
        "amount": "2375",
        "currency": "usd",
        "destination": "acct_seller",
        "source_transaction": "ch_shared",
        "transfer_group": f"payment_{payment.public_id}",
        "metadata[order]": order.public_id,
        "metadata[payment]": payment.public_id,
    }


@pytest.mark.django_db
def test_a_refund_is_a_partial_refund_of_the_payment_intent(recorded, buyer, lamp, vase):
    from orders.escrow.services import order_cancel

    client, payment = recorded_checkout(recorded, buyer, lamp, vase)
    payment_paid(payment=payment, payment_intent_id="pi_two_orders")
    order = payment.orders.get(stall=vase.stall)
    order_cancel(actor=vase.stall.seller.user, order=order)
    move = MoneyMove.objects.get()
    client.answers.append({"id": "re_1", "object": "refund"})
    money_move_send(move_id=move.pk)
    sent = client.requests[-1]
    assert sent["url"] == "https://api.stripe.com/v1/refunds"
    assert sent["headers"]["Idempotency-Key"] == f"refund-{move.public_id}"
    assert sent["params"] == {
        "payment_intent": "pi_two_orders",
        "amount": "1800",
        "metadata[order]": order.public_id,
        "metadata[payment]": payment.public_id,
    }


@pytest.mark.django_db
def test_a_transfer_fetches_the_charge_once_when_it_is_not_known(recorded, buyer, lamp):
    client, payment = recorded_checkout(recorded, buyer, lamp)
    payment_paid(payment=payment, payment_intent_id="pi_unknown_charge")
    PayoutAccount.objects.create(
        seller=lamp.stall.seller, gateway="stripe", account_id="acct_s", payouts_enabled=True
    )
    order = Order.objects.get()
    order_ship(actor=lamp.stall.seller.user, order=order, carrier="UPS", tracking_number="1")
    order_confirm_received(actor=buyer, order=order)
    client.answers += [
        {"id": "pi_unknown_charge", "object": "payment_intent", "latest_charge": "ch_found"},
        {"id": "tr_2", "object": "transfer"},
    ]
    money_move_send(move_id=MoneyMove.objects.get().pk)
    assert client.requests[-2]["url"].endswith("/v1/payment_intents/pi_unknown_charge")
    assert client.requests[-1]["params"]["source_transaction"] == "ch_found"
    assert Payment.objects.get().charge_id == "ch_found"


@pytest.mark.django_db
def test_connect_express_account_and_onboarding_link(recorded, stall):
    from orders.payments.services import payout_onboarding_link

    client = recorded(
        {"id": "acct_1", "object": "account", "details_submitted": False},
        {"object": "account_link", "url": "https://connect.stripe.com/setup/e/acct_1/x"},
    )
    url = payout_onboarding_link(user=stall.seller.user, base_url="https://bazaar.example")
    assert url == "https://connect.stripe.com/setup/e/acct_1/x"
    account, link = client.requests
    assert account["headers"]["Idempotency-Key"] == f"account-{stall.seller.public_id}"
    assert account["params"] == {
        "type": "express",
        "country": "US",
        "email": "seller@example.com",
        "capabilities[transfers][requested]": "true",
        "metadata[seller]": stall.seller.public_id,
    }
    assert link["url"] == "https://api.stripe.com/v1/account_links"
    assert link["params"] == {
        "account": "acct_1",
        "refresh_url": "https://bazaar.example/dashboard/stall/payouts/connect/",
        "return_url": "https://bazaar.example/dashboard/stall/payouts/return/",
        "type": "account_onboarding",
    }
    assert PayoutAccount.objects.get().account_id == "acct_1"


@pytest.mark.django_db
def test_saving_a_card_opens_a_setup_session(recorded, buyer):
    from orders.payments.services import card_setup_start

    client = recorded(
        {"id": "cus_9", "object": "customer"},
        {"id": "cs_setup", "object": "checkout.session", "url": "https://checkout.stripe.com/s"},
    )
    url = card_setup_start(buyer=buyer, idempotency_key="setup-key-00000001", base_url="http://x")
    assert url == "https://checkout.stripe.com/s"
    customer, session = client.requests
    assert customer["headers"]["Idempotency-Key"] == f"customer-{buyer.public_id}"
    assert session["headers"]["Idempotency-Key"] == f"setup-{buyer.public_id}-setup-key-00000001"
    assert session["params"] == {
        "mode": "setup",
        "currency": "usd",
        "customer": "cus_9",
        "payment_method_types[0]": "card",
        "metadata[buyer]": buyer.public_id,
        "setup_intent_data[metadata][buyer]": buyer.public_id,
        "success_url": "http://x/account/payments/",
        "cancel_url": "http://x/account/payments/",
    }


def test_an_off_session_charge_sends_transfer_group_and_metadata(recorded):
    client = recorded(
        {
            "id": "pi_9",
            "object": "payment_intent",
            "status": "succeeded",
            "latest_charge": "ch_9",
        }
    )
    charge = StripeGateway.from_settings().charge_saved_card(
        amount_cents=5000,
        currency="USD",
        customer_id="cus_9",
        payment_method_id="pm_9",
        metadata={"payment": "P9", "auction": "A9"},
        transfer_group="payment_P9",
        idempotency_key="auction-A9",
    )
    assert (charge.payment_intent_id, charge.charge_id) == ("pi_9", "ch_9")
    sent = client.requests[0]
    assert sent["headers"]["Idempotency-Key"] == "auction-A9"
    assert sent["params"] == {
        "amount": "5000",
        "currency": "usd",
        "customer": "cus_9",
        "payment_method": "pm_9",
        "off_session": "true",
        "confirm": "true",
        "metadata[payment]": "P9",
        "metadata[auction]": "A9",
        "transfer_group": "payment_P9",
    }


@pytest.mark.django_db
def test_a_declined_auction_charge_leaves_the_reservation(recorded, buyer, lamp):
    class Declining(RecordingClient):
        def request(self, method, url, headers, post_data=None, **kwargs):
            self.requests.append({"url": url})
            error = {
                "type": "card_error",
                "code": "card_declined",
                "message": "Your card was declined.",
            }
            return json.dumps({"error": error}), 402, {}

    recorded()
    SavedCard.objects.create(buyer=buyer, gateway="stripe", customer_id="c", payment_method_id="p")
    reservation = auction_hold(buyer, lamp)
    declining = Declining()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            StripeGateway,
            "from_settings",
            classmethod(
                lambda cls: cls(
                    stripe.StripeClient(
                        "sk_test_x", stripe_version=API_VERSION, http_client=declining
                    )
                )
            ),
        )
        with pytest.raises(PaymentFailed, match="Your card was declined"):
            auction_won(buyer, lamp, reservation, price_cents=3000, reference=new_ulid())
    reservation.refresh_from_db()
    assert reservation.consumed_at is None and reservation.released_at is None
    assert Payment.objects.get().status == "failed"
    assert not Order.objects.filter(status="paid_escrow").exists()
