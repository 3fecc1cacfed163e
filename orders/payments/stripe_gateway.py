"""The Stripe backend of the payment gateway (`orders.payments.gateway`)."""

import stripe
from django.conf import settings

from .gateway import (
    Account,
    Card,
    CardDeclined,
    Charge,
    GatewayError,
    Session,
    account_of,
    expandable_id,
    plain,
    timestamp,
)


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
            "expires_at": timestamp(expires_at),
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
        intent = plain(intent)
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
        return account_of(account)

    def account_retrieve(self, *, account_id: str) -> Account:
        return account_of(self._call(self.client.v1.accounts.retrieve, account_id))

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
