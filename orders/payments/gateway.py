"""The payment gateway's interface: one protocol, two implementations.

`orders.payments.stripe_gateway.StripeGateway` talks to Stripe through stripe-python's
`StripeClient` (API version pinned); `orders.payments.test_gateway.TestGateway` keeps
the same objects in our database so the market works offline; `orders.payments.backends`
picks one by name. Neither knows about orders: services pass amounts, ids and metadata
in and get ids back. Every call that creates something takes an idempotency key, so a
retried call returns what the first one created.

The test gateway's pages (pay with a test card, finish payouts onboarding) produce
events shaped like Stripe's, which go through the same processing as Stripe's
webhooks (`orders.payments.webhooks.event_handle`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import stripe


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


# Helpers for Stripe-shaped objects (both backends speak them)


def timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def account_of(account) -> Account:
    account = plain(account)
    return Account(
        id=account["id"],
        details_submitted=bool(account.get("details_submitted")),
        payouts_enabled=bool(account.get("payouts_enabled")),
    )


def expandable_id(value) -> str:
    """An expandable field: an id, or the expanded object (localstripe expands some)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else plain(value).get("id", "")


def plain(obj) -> dict:
    """A stripe-python object as a plain dict (they are not dicts since v13)."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj
