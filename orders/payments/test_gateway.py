"""The local test gateway: Stripe's objects and state machine in our database.

Another backend of the payment gateway (`orders.payments.gateway`), for the embedded
market and the tests; only Stripe's test card numbers are accepted.
"""

from django.db import IntegrityError, transaction
from django.urls import reverse

from bazaar.ids import new_ulid

from ..models import TestGatewayObject
from .gateway import (
    Account,
    Card,
    CardDeclined,
    Charge,
    GatewayError,
    Session,
    account_of,
    timestamp,
)

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

    @staticmethod
    def _locked(object_id: str, kind: str) -> TestGatewayObject:
        """One object under its row lock, inside the caller's transaction."""
        found = (
            TestGatewayObject.objects.select_for_update()
            .filter(object_id=object_id, kind=kind)
            .first()
        )
        if found is None:
            raise GatewayError(f"No such {kind.replace('_', ' ')}: {object_id}")
        return found

    def _update(self, object_id: str, **changes) -> dict:
        with transaction.atomic():
            found = TestGatewayObject.objects.select_for_update().get(object_id=object_id)
            found.data = {**found.data, **changes}
            found.save(update_fields=["data"])
        return found.data

    def _event(self, event_type: str, data: dict, *, event_id: str = "") -> dict:
        return {
            "id": event_id or f"evt_test_{new_ulid()}",
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
                "expires_at": timestamp(expires_at),
                "success_url": success_url,
                "cancel_url": cancel_url,
                "payment_intent": None,
            },
            idempotency_key,
        )
        return Session(id=session["id"], url=self._session_url(session["id"]))

    def checkout_session_expire(self, *, session_id: str) -> bool:
        """Under the session's lock, so a completion racing it comes wholly before or
        wholly after: False if the buyer completed it first."""
        with transaction.atomic():
            found = self._locked(session_id, "checkout.session")
            if found.data["status"] == "complete":
                return False
            if found.data["status"] == "open":
                found.data = {**found.data, "status": "expired"}
                found.save(update_fields=["data"])
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
        event, as Stripe would send it. A declined test card raises CardDeclined.

        As with Stripe, a session is paid once: under the session's row lock, a
        completion that finds it complete (a double click, the page posted from two
        tabs) charges nothing and answers with the first completion's event, whose id
        the webhook processing has already seen or will see once."""
        number = _digits(card_number)
        if number not in TEST_CARDS:
            raise CardDeclined(
                "Test mode takes only the test card numbers listed on this page; never a real card."
            )
        with transaction.atomic():
            found = self._locked(session_id, "checkout.session")
            session = found.data
            if session["status"] == "complete":
                return self._event(
                    "checkout.session.completed", session, event_id=session["completed_event"]
                )
            if session["status"] != "open":
                raise GatewayError(f"This checkout is {session['status']}; it cannot be paid now.")
            if number == CARD_DECLINED:
                raise CardDeclined("Your card was declined (test card).")
            changes = self._paid_with(session, number)
            event_id = f"evt_test_{new_ulid()}"
            found.data = {**session, **changes, "status": "complete", "completed_event": event_id}
            found.save(update_fields=["data"])
        return self._event("checkout.session.completed", found.data, event_id=event_id)

    def _paid_with(self, session: dict, number: str) -> dict:
        """The card's payment method and the intent that used it: what a completed
        session of its mode records."""
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
            return {"setup_intent": intent["id"]}
        intent = self._payment_intent(
            amount=session["amount_total"],
            currency=session["currency"],
            metadata=session["metadata"],
            transfer_group=session["transfer_group"],
            payment_method=method["id"],
        )
        return {"payment_status": "paid", "payment_intent": intent["id"]}

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
        return account_of(account)

    def account_retrieve(self, *, account_id: str) -> Account:
        return account_of(self.get(account_id, "account"))

    def account_link_create(self, *, account_id, refresh_url, return_url) -> str:
        self.get(account_id, "account")
        return reverse("orders:test_gateway_onboarding", args=[account_id])

    def onboarding_complete(self, *, account_id: str) -> dict:
        """The seller finished the test onboarding: the `account.updated` event."""
        self.get(account_id, "account")
        account = self._update(account_id, details_submitted=True, payouts_enabled=True)
        return self._event("account.updated", account)
