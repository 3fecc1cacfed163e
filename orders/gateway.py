"""The payment gateway: one interface, two implementations.

`StripeGateway` talks to Stripe through stripe-python's `StripeClient` (API version
pinned); `TestGateway` keeps the same objects in our database so the market works
offline. Neither knows about orders: services pass amounts, ids and metadata in and
get ids back. Every call that creates something takes an idempotency key, so a
retried call returns what the first one created.

The test gateway's pages (pay with a test card, finish payouts onboarding) produce
events shaped like Stripe's, which go through the same processing as Stripe's
webhooks (`orders.webhooks.event_handle`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from bazaar.ids import new_ulid

from .models import TestGatewayObject


class GatewayError(Exception):
    """The gateway refused or did not answer; nothing we asked for happened."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class CardDeclined(GatewayError):
    """The card was declined (or needs the buyer present to authenticate)."""


@dataclass(frozen=True)
class Session:
    id: str
    url: str


@dataclass(frozen=True)
class Charge:
    payment_intent_id: str
    charge_id: str


@dataclass(frozen=True)
class Card:
    customer_id: str
    payment_method_id: str
    brand: str
    last4: str


@dataclass(frozen=True)
class Account:
    id: str
    details_submitted: bool
    payouts_enabled: bool


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount: int
    quantity: int


class PaymentGateway(Protocol):
    name: str

    def customer_create(self, *, email: str, metadata: dict, idempotency_key: str) -> str: ...

    def checkout_session_create(
        self,
        *,
        line_items: list[LineItem],
        currency: str,
        customer_email: str,
        expires_at: datetime,
        metadata: dict,
        transfer_group: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Session: ...

    def checkout_session_expire(self, *, session_id: str) -> bool:
        """Expire an open session. False if it completed first (a payment is coming)."""

    def setup_session_create(
        self,
        *,
        customer_id: str,
        currency: str,
        metadata: dict,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Session: ...

    def setup_card(self, *, setup_intent_id: str) -> Card: ...

    def charge_saved_card(
        self,
        *,
        amount_cents: int,
        currency: str,
        customer_id: str,
        payment_method_id: str,
        metadata: dict,
        transfer_group: str,
        idempotency_key: str,
    ) -> Charge: ...

    def charge_of(self, *, payment_intent_id: str) -> str: ...

    def refund_create(
        self, *, payment_intent_id: str, amount_cents: int, metadata: dict, idempotency_key: str
    ) -> str: ...

    def transfer_create(
        self,
        *,
        amount_cents: int,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        metadata: dict,
        idempotency_key: str,
    ) -> str: ...

    def account_create(
        self, *, email: str, country: str, metadata: dict, idempotency_key: str
    ) -> Account: ...

    def account_retrieve(self, *, account_id: str) -> Account: ...

    def account_link_create(self, *, account_id: str, refresh_url: str, return_url: str) -> str: ...


# Stripe


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _account(account) -> Account:
    account = _plain(account)
    return Account(
        id=account["id"],
        details_submitted=bool(account.get("details_submitted")),
        payouts_enabled=bool(account.get("payouts_enabled")),
    )


def expandable_id(value) -> str:
    """An expandable field: an id, or the expanded object (localstripe expands some)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else _plain(value).get("id", "")


def _plain(obj) -> dict:
    """A stripe-python object as a plain dict (they are not dicts since v13)."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


class StripeGateway:
    """Stripe through stripe-python. Separate charges and transfers: the platform
    charges the buyer, holds the money, and transfers each seller's share from
    that charge (`source_transaction`) when the order is released."""

    name = "stripe"

    def __init__(self, client: stripe.StripeClient):
        self.client = client

    @classmethod
    def from_settings(cls, **client_options) -> "StripeGateway":
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        return cls(
            stripe.StripeClient(
                settings.STRIPE_SECRET_KEY,
                stripe_version=settings.STRIPE_API_VERSION,
                base_addresses=base,
                max_network_retries=2,
                **client_options,
            )
        )

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except stripe.CardError as error:
            raise CardDeclined(error.user_message or "The card was declined.") from error
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error) or type(error).__name__) from error

    @staticmethod
    def _key(idempotency_key: str) -> dict:
        return {"idempotency_key": idempotency_key}

    def customer_create(self, *, email: str, metadata: dict, idempotency_key: str) -> str:
        customer = self._call(
            self.client.v1.customers.create,
            params={"email": email, "metadata": metadata},
            options=self._key(idempotency_key),
        )
        return customer.id

    def checkout_session_create(
        self,
        *,
        line_items,
        currency,
        customer_email,
        expires_at,
        metadata,
        transfer_group,
        success_url,
        cancel_url,
        idempotency_key,
    ) -> Session:
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": line.unit_amount,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in line_items
            ],
            "customer_email": customer_email,
            "client_reference_id": metadata["payment"],
            "metadata": metadata,
            "payment_intent_data": {"transfer_group": transfer_group, "metadata": metadata},
            "expires_at": _timestamp(expires_at),
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params=params,
            options=self._key(idempotency_key),
        )
        return Session(id=session.id, url=session.url)

    def checkout_session_expire(self, *, session_id: str) -> bool:
        try:
            self.client.v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError as error:
            # Only an open session can be expired: find out what it is now.
            session = self._call(self.client.v1.checkout.sessions.retrieve, session_id)
            if session.status == "expired":
                return True
            if session.status == "complete":
                return False
            raise GatewayError(str(error)) from error
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return True

    def setup_session_create(
        self, *, customer_id, currency, metadata, success_url, cancel_url, idempotency_key
    ) -> Session:
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "setup",
                "currency": currency.lower(),
                "customer": customer_id,
                "payment_method_types": ["card"],
                "metadata": metadata,
                "setup_intent_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options=self._key(idempotency_key),
        )
        return Session(id=session.id, url=session.url)

    def setup_card(self, *, setup_intent_id: str) -> Card:
        intent = self._call(
            self.client.v1.setup_intents.retrieve,
            setup_intent_id,
            params={"expand": ["payment_method"]},
        )
        intent = _plain(intent)
        method = intent["payment_method"]
        card = method.get("card", {}) if isinstance(method, dict) else {}
        return Card(
            customer_id=expandable_id(intent["customer"]),
            payment_method_id=expandable_id(method),
            brand=card.get("brand", ""),
            last4=card.get("last4", ""),
        )

    def charge_saved_card(
        self,
        *,
        amount_cents,
        currency,
        customer_id,
        payment_method_id,
        metadata,
        transfer_group,
        idempotency_key,
    ) -> Charge:
        intent = self._call(
            self.client.v1.payment_intents.create,
            params={
                "amount": amount_cents,
                "currency": currency.lower(),
                "customer": customer_id,
                "payment_method": payment_method_id,
                "off_session": True,
                "confirm": True,
                "metadata": metadata,
                "transfer_group": transfer_group,
            },
            options=self._key(idempotency_key),
        )
        if intent.status != "succeeded":
            raise CardDeclined("The saved card could not be charged without the buyer.")
        return Charge(payment_intent_id=intent.id, charge_id=expandable_id(intent.latest_charge))

    def charge_of(self, *, payment_intent_id: str) -> str:
        intent = self._call(self.client.v1.payment_intents.retrieve, payment_intent_id)
        return expandable_id(intent.latest_charge)

    def refund_create(self, *, payment_intent_id, amount_cents, metadata, idempotency_key) -> str:
        refund = self._call(
            self.client.v1.refunds.create,
            params={
                "payment_intent": payment_intent_id,
                "amount": amount_cents,
                "metadata": metadata,
            },
            options=self._key(idempotency_key),
        )
        return refund.id

    def transfer_create(
        self,
        *,
        amount_cents,
        currency,
        destination,
        source_transaction,
        transfer_group,
        metadata,
        idempotency_key,
    ) -> str:
        transfer = self._call(
            self.client.v1.transfers.create,
            params={
                "amount": amount_cents,
                "currency": currency.lower(),
                "destination": destination,
                "source_transaction": source_transaction,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            options=self._key(idempotency_key),
        )
        return transfer.id

    def account_create(self, *, email, country, metadata, idempotency_key) -> Account:
        account = self._call(
            self.client.v1.accounts.create,
            params={
                "type": "express",
                "country": country,
                "email": email,
                "capabilities": {"transfers": {"requested": True}},
                "metadata": metadata,
            },
            options=self._key(idempotency_key),
        )
        return _account(account)

    def account_retrieve(self, *, account_id: str) -> Account:
        return _account(self._call(self.client.v1.accounts.retrieve, account_id))

    def account_link_create(self, *, account_id, refresh_url, return_url) -> str:
        link = self._call(
            self.client.v1.account_links.create,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
        )
        return link.url


# The local test gateway

# Stripe's own test numbers, so the habits carry over.
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"  # declined at checkout
CARD_DECLINES_OFF_SESSION = "4000000000000341"  # saves fine, declined when charged later
TEST_CARDS = {
    CARD_OK: "Visa, always succeeds",
    CARD_DECLINED: "always declined",
    CARD_DECLINES_OFF_SESSION: "can be saved; declined when charged later",
}


def _digits(card_number: str) -> str:
    return "".join(ch for ch in card_number if ch.isdigit())


class TestGateway:
    """Stripe's objects and state machine in our database, for the embedded market and
    the tests. Clearly test mode: only Stripe's test card numbers are accepted."""

    __test__ = False  # not a pytest class
    name = "test"

    def _create(self, kind: str, prefix: str, data: dict, idempotency_key: str = "") -> dict:
        """Store a new object, or return the one made with the same idempotency key."""
        existing = self._existing(kind, idempotency_key)
        if existing is not None:
            return existing.data
        object_id = f"{prefix}_test_{new_ulid()}"
        data = {"id": object_id, "object": kind, "livemode": False, **data}
        try:
            with transaction.atomic():
                TestGatewayObject.objects.create(
                    object_id=object_id, kind=kind, idempotency_key=idempotency_key, data=data
                )
        except IntegrityError:
            return TestGatewayObject.objects.get(kind=kind, idempotency_key=idempotency_key).data
        return data

    @staticmethod
    def _existing(kind: str, idempotency_key: str) -> TestGatewayObject | None:
        """The object an earlier call with this key made (none without a key)."""
        if not idempotency_key:
            return None
        return TestGatewayObject.objects.filter(kind=kind, idempotency_key=idempotency_key).first()

    def get(self, object_id: str, kind: str) -> dict:
        found = TestGatewayObject.objects.filter(object_id=object_id, kind=kind).first()
        if found is None:
            raise GatewayError(f"No such {kind.replace('_', ' ')}: {object_id}")
        return found.data

    def _update(self, object_id: str, **changes) -> dict:
        with transaction.atomic():
            found = TestGatewayObject.objects.select_for_update().get(object_id=object_id)
            found.data = {**found.data, **changes}
            found.save(update_fields=["data"])
        return found.data

    def _event(self, event_type: str, data: dict) -> dict:
        return {
            "id": f"evt_test_{new_ulid()}",
            "object": "event",
            "type": event_type,
            "livemode": False,
            "data": {"object": data},
        }

    def _session_url(self, session_id: str) -> str:
        return reverse("orders:test_gateway_session", args=[session_id])

    def customer_create(self, *, email, metadata, idempotency_key) -> str:
        data = {"email": email, "metadata": metadata}
        return self._create("customer", "cus", data, idempotency_key)["id"]

    def checkout_session_create(
        self,
        *,
        line_items,
        currency,
        customer_email,
        expires_at,
        metadata,
        transfer_group,
        success_url,
        cancel_url,
        idempotency_key,
    ) -> Session:
        lines = [
            {
                "name": line.name,
                "unit_amount": line.unit_amount,
                "quantity": line.quantity,
                "amount": line.unit_amount * line.quantity,
            }
            for line in line_items
        ]
        session = self._create(
            "checkout.session",
            "cs",
            {
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "currency": currency.lower(),
                "amount_total": sum(line["amount"] for line in lines),
                "line_items": lines,
                "customer_email": customer_email,
                "client_reference_id": metadata["payment"],
                "metadata": metadata,
                "transfer_group": transfer_group,
                "expires_at": _timestamp(expires_at),
                "success_url": success_url,
                "cancel_url": cancel_url,
                "payment_intent": None,
            },
            idempotency_key,
        )
        return Session(id=session["id"], url=self._session_url(session["id"]))

    def checkout_session_expire(self, *, session_id: str) -> bool:
        session = self.get(session_id, "checkout.session")
        if session["status"] == "complete":
            return False
        if session["status"] == "open":
            self._update(session_id, status="expired")
        return True

    def setup_session_create(
        self, *, customer_id, currency, metadata, success_url, cancel_url, idempotency_key
    ) -> Session:
        session = self._create(
            "checkout.session",
            "cs",
            {
                "mode": "setup",
                "status": "open",
                "currency": currency.lower(),
                "customer": customer_id,
                "metadata": metadata,
                "success_url": success_url,
                "cancel_url": cancel_url,
                "setup_intent": None,
            },
            idempotency_key,
        )
        return Session(id=session["id"], url=self._session_url(session["id"]))

    def session_complete(self, *, session_id: str, card_number: str) -> dict:
        """The buyer paid (or saved a card) on the test page: the completed session's
        event, as Stripe would send it. A declined test card raises CardDeclined."""
        number = _digits(card_number)
        if number not in TEST_CARDS:
            raise CardDeclined(
                "Test mode takes only the test card numbers listed on this page; never a real card."
            )
        session = self.get(session_id, "checkout.session")
        if session["status"] != "open":
            raise GatewayError(f"This checkout is {session['status']}; it cannot be paid now.")
        if number == CARD_DECLINED:
            raise CardDeclined("Your card was declined (test card).")
        method = self._create(
            "payment_method",
            "pm",
            {
                "card": {"brand": "visa", "last4": number[-4:]},
                "customer": session.get("customer"),
                "declines_off_session": number == CARD_DECLINES_OFF_SESSION,
            },
        )
        if session["mode"] == "setup":
            intent = self._create(
                "setup_intent",
                "seti",
                {
                    "status": "succeeded",
                    "customer": session["customer"],
                    "payment_method": method["id"],
                    "metadata": session["metadata"],
                },
            )
            session = self._update(session_id, status="complete", setup_intent=intent["id"])
        else:
            intent = self._payment_intent(
                amount=session["amount_total"],
                currency=session["currency"],
                metadata=session["metadata"],
                transfer_group=session["transfer_group"],
                payment_method=method["id"],
            )
            session = self._update(
                session_id, status="complete", payment_status="paid", payment_intent=intent["id"]
            )
        return self._event("checkout.session.completed", session)

    def _payment_intent(self, *, idempotency_key: str = "", **fields) -> dict:
        charge = self._create(
            "charge", "ch", {"amount": fields["amount"], "amount_refunded": 0}, idempotency_key
        )
        return self._create(
            "payment_intent",
            "pi",
            {"status": "succeeded", "latest_charge": charge["id"], **fields},
            idempotency_key,
        )

    def setup_card(self, *, setup_intent_id: str) -> Card:
        intent = self.get(setup_intent_id, "setup_intent")
        method = self.get(intent["payment_method"], "payment_method")
        return Card(
            customer_id=intent["customer"],
            payment_method_id=method["id"],
            brand=method["card"]["brand"],
            last4=method["card"]["last4"],
        )

    def charge_saved_card(
        self,
        *,
        amount_cents,
        currency,
        customer_id,
        payment_method_id,
        metadata,
        transfer_group,
        idempotency_key,
    ) -> Charge:
        method = self.get(payment_method_id, "payment_method")
        if method["declines_off_session"] or method.get("customer") != customer_id:
            raise CardDeclined("Your card was declined (test card).")
        intent = self._payment_intent(
            amount=amount_cents,
            currency=currency.lower(),
            metadata=metadata,
            transfer_group=transfer_group,
            payment_method=payment_method_id,
            idempotency_key=idempotency_key,
        )
        return Charge(payment_intent_id=intent["id"], charge_id=intent["latest_charge"])

    def charge_of(self, *, payment_intent_id: str) -> str:
        return self.get(payment_intent_id, "payment_intent")["latest_charge"]

    def refund_create(self, *, payment_intent_id, amount_cents, metadata, idempotency_key) -> str:
        existing = self._existing("refund", idempotency_key)
        if existing is not None:
            return existing.object_id
        intent = self.get(payment_intent_id, "payment_intent")
        charge = self.get(intent["latest_charge"], "charge")
        if charge["amount_refunded"] + amount_cents > charge["amount"]:
            raise GatewayError("Refund is larger than what is left of the charge.")
        self._update(charge["id"], amount_refunded=charge["amount_refunded"] + amount_cents)
        refund = self._create(
            "refund",
            "re",
            {"amount": amount_cents, "payment_intent": intent["id"], "metadata": metadata},
            idempotency_key,
        )
        return refund["id"]

    def transfer_create(
        self,
        *,
        amount_cents,
        currency,
        destination,
        source_transaction,
        transfer_group,
        metadata,
        idempotency_key,
    ) -> str:
        account = self.get(destination, "account")
        if not account["payouts_enabled"]:
            raise GatewayError("The destination account cannot receive transfers yet.")
        self.get(source_transaction, "charge")
        transfer = self._create(
            "transfer",
            "tr",
            {
                "amount": amount_cents,
                "currency": currency.lower(),
                "destination": destination,
                "source_transaction": source_transaction,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            idempotency_key,
        )
        return transfer["id"]

    def account_create(self, *, email, country, metadata, idempotency_key) -> Account:
        account = self._create(
            "account",
            "acct",
            {
                "type": "express",
                "email": email,
                "country": country,
                "metadata": metadata,
                "details_submitted": False,
                "payouts_enabled": False,
            },
            idempotency_key,
        )
        return _account(account)

    def account_retrieve(self, *, account_id: str) -> Account:
        return _account(self.get(account_id, "account"))

    def account_link_create(self, *, account_id, refresh_url, return_url) -> str:
        self.get(account_id, "account")
        return reverse("orders:test_gateway_onboarding", args=[account_id])

    def onboarding_complete(self, *, account_id: str) -> dict:
        """The seller finished the test onboarding: the `account.updated` event."""
        self.get(account_id, "account")
        account = self._update(account_id, details_submitted=True, payouts_enabled=True)
        return self._event("account.updated", account)


def gateway_named(name: str) -> PaymentGateway:
    """The gateway a payment or account was made with (they outlive a settings change)."""
    if name == StripeGateway.name:
        return StripeGateway.from_settings()
    if name == TestGateway.name:
        return TestGateway()
    raise GatewayError(f"Unknown payment gateway {name!r}.")


def current_gateway() -> PaymentGateway:
    return gateway_named(settings.PAYMENT_GATEWAY)
