"""Carts, payments, orders and the money that leaves escrow.

Money is integer minor units plus a currency. An order's status moves only through
`orders.escrow.services.order_transition` (see TRANSITIONS there), which writes an
`OrderEvent` for each move; money leaving the platform (refunds to buyers, transfers
to sellers) is a `MoneyMove` decided in the same transaction and sent afterwards.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class ShippingAddress(models.Model):
    """Where a buyer's parcels go; copied onto each order when it is created."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shipping_address"
    )
    name = models.CharField(max_length=120)
    line1 = models.CharField("Address", max_length=200)
    line2 = models.CharField("Address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2)
    updated_at = models.DateTimeField(default=timezone.now)

    def as_text(self) -> str:
        lines = [self.name, self.line1, self.line2, f"{self.postal_code} {self.city}", self.country]
        return "\n".join(line for line in lines if line.strip())


class StallShipping(models.Model):
    """What a stall charges to ship one order (the seller sets it; free until then)."""

    stall = models.OneToOneField("stalls.Stall", on_delete=models.CASCADE, related_name="shipping")
    cost_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(default=timezone.now)


class PayoutAccount(models.Model):
    """A seller's connected account (Stripe Connect Express, or the test gateway's)."""

    seller = models.OneToOneField(
        "stalls.SellerProfile", on_delete=models.PROTECT, related_name="payout_account"
    )
    gateway = models.CharField(max_length=16)
    account_id = models.CharField(max_length=64, unique=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)


class SavedCard(models.Model):
    """A buyer's customer record at the gateway and the card saved for later
    (off-session charges, such as a won auction). No card until the setup completes."""

    buyer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_card"
    )
    gateway = models.CharField(max_length=16)
    customer_id = models.CharField(max_length=64)
    payment_method_id = models.CharField(max_length=64, blank=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class CartLine(models.Model):
    """One item in a signed-in buyer's cart. Prices are not kept: checkout reads them."""

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_lines"
    )
    item = models.ForeignKey("stalls.Item", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["buyer", "item"], name="cart_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity"),
        ]


class Payment(models.Model):
    """One charge of a buyer: a checkout (one order per seller) or an off-session charge
    on a saved card (a won auction). It carries what the gateway needs to find it again:
    the Checkout Session, the payment intent, the charge and the transfer group."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Checkout"
        OFF_SESSION = "off_session", "Saved card"
        # A giveaway's prize: an order at zero price, nothing charged (giveaways).
        PRIZE = "prize", "Prize, nothing to pay"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Declined"

    public_id = PublicIdField()
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHECKOUT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    gateway = models.CharField(max_length=16)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=80)
    session_id = models.CharField(max_length=128, blank=True, db_index=True)
    session_url = models.TextField(blank=True)
    payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    charge_id = models.CharField(max_length=64, blank=True, db_index=True)
    transfer_group = models.CharField(max_length=64)
    metadata = models.JSONField(default=dict, blank=True)
    failure = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "idempotency_key"], name="payment_idempotency_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="open"), name="payment_open_expiry"
            )
        ]

    def __str__(self) -> str:
        return f"Payment {self.public_id}"


class Order(models.Model):
    """What one buyer bought from one stall in one payment, and where it is in escrow."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Waiting for payment"
        PAID_ESCROW = "paid_escrow", "Paid, held in escrow"
        SHIPPED = "shipped", "Shipped"
        RECEIVED = "received", "Received"
        RELEASED = "released", "Released to the seller"
        DISPUTED = "disputed", "Disputed"
        REFUNDED = "refunded", "Refunded"
        # A dispute settled with part of the money back; the rest went to the seller.
        PARTLY_REFUNDED = "partly_refunded", "Partly refunded"
        CANCELLED = "cancelled", "Cancelled"

    public_id = PublicIdField()
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    stall = models.ForeignKey("stalls.Stall", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    subtotal_cents = models.PositiveIntegerField()
    shipping_cents = models.PositiveIntegerField(default=0)
    total_cents = models.PositiveIntegerField()
    fee_basis_points = models.PositiveIntegerField()
    refunded_cents = models.PositiveIntegerField(default=0)
    ship_to = models.TextField()
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    dispute_reason = models.TextField(blank=True)
    reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["shipped_at"], condition=Q(status="shipped"), name="order_release_due"
            ),
            models.Index(fields=["buyer", "-created_at"], name="order_buyer_recent"),
            models.Index(fields=["stall", "-created_at"], name="order_stall_recent"),
        ]

    def __str__(self) -> str:
        return f"Order {self.public_id}"


class OrderLine(models.Model):
    """An item bought, its price copied at checkout. The reservation holds its stock
    until the payment succeeds (consumed) or the checkout ends (released); a line
    bought with an accepted offer carries the offer's reservation instead."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey("stalls.Item", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=120)
    unit_price_cents = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField(default=1)
    reservation = models.ForeignKey(
        "stalls.Reservation", on_delete=models.PROTECT, related_name="+"
    )
    offer_public_id = models.CharField(max_length=26, blank=True)

    @property
    def total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class OrderEvent(models.Model):
    """The audit trail and the timeline of an order: every status change and every
    money movement, with who did it. A retried request finds its key here."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    from_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Order.Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="order_event_idempotency_unique",
            )
        ]


class MoneyMove(models.Model):
    """Money leaving the platform's balance for one order: a refund to the buyer or a
    transfer to the seller. Decided with the order's status change, sent after commit
    with an idempotency key of its own, retried until the gateway confirms it."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund to buyer"
        TRANSFER = "transfer", "Payout to seller"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    public_id = PublicIdField()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="money_moves")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    amount_cents = models.PositiveIntegerField()
    fee_cents = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3)
    gateway_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], condition=~Q(status="done"), name="money_move_open")
        ]

    @property
    def idempotency_key(self) -> str:
        return f"{self.kind}-{self.public_id}"


class Chargeback(models.Model):
    """A card dispute the buyer's bank opened on a payment's charge (Stripe's
    `charge.dispute.*`), kept for ops, also when the order was already released."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="chargebacks")
    dispute_id = models.CharField(max_length=64, unique=True)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)


class WebhookEvent(models.Model):
    """Every gateway event we accepted, stored once by its id: a replay finds it here
    and changes nothing. `outcome` says what processing did, for ops."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed"
        IGNORED = "ignored"
        REFUSED = "refused"

    event_id = models.CharField(max_length=80, unique=True)
    gateway = models.CharField(max_length=16)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class TestGatewayObject(models.Model):
    """The local test gateway's state: its sessions, payment intents, refunds,
    transfers and accounts, as JSON shaped like Stripe's objects."""

    __test__ = False  # not a pytest class

    object_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=32)
    idempotency_key = models.CharField(max_length=120, blank=True)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="test_gateway_idempotency_unique",
            )
        ]
