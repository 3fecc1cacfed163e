from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Offer(models.Model):
    """One amount in a bargaining thread between a buyer and an item's seller.

    A thread starts with the buyer's offer; each counter is a new row that
    `answers` the previous one (which becomes `countered`). `thread` is the public
    id of the thread's first offer. At most one offer per buyer and item is live
    (pending or accepted): the database enforces it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COUNTERED = "countered", "Countered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"
        PURCHASED = "purchased", "Purchased"

    class Side(models.TextChoices):
        BUYER = "buyer", "Buyer"
        SELLER = "seller", "Seller"

    public_id = PublicIdField()
    thread = models.CharField(max_length=26, db_index=True)
    item = models.ForeignKey("stalls.Item", on_delete=models.PROTECT, related_name="offers")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers"
    )
    side = models.CharField(max_length=8, choices=Side.choices)
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=280, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    answers = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="answered_by"
    )
    expires_at = models.DateTimeField()
    reservation = models.ForeignKey(
        "stalls.Reservation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
    )
    purchase_reference = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set by the action that changed the offer, in its own write; cleared by the ladder's
    # writer in the transaction that puts this state in the stall document. An offer
    # still marked after the writer's time (its process died after the action's
    # acknowledgement) is written by the sweep (`offers.ladder.ladder_sync_pending`).
    ladder_pending = models.BooleanField(default=False)

    LIVE = (Status.PENDING, Status.ACCEPTED)
    # What an offer's rules, entries and templates read, for select_related.
    RELATED = ("item__stall__seller__user", "buyer", "answers")

    class Meta:
        indexes = [
            models.Index(fields=["item", "status"], name="offer_item_status"),
            models.Index(fields=["buyer", "-created_at"], name="offer_buyer_recent"),
            # A buyer's accepted offers, for every cart button and the cart at once.
            models.Index(
                fields=["buyer"], condition=Q(status="accepted"), name="offer_buyer_accepted"
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["pending", "accepted"]),
                name="offer_live_expiry",
            ),
            models.Index(
                fields=["updated_at"], condition=Q(ladder_pending=True), name="offer_ladder_pending"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "buyer"],
                condition=Q(status__in=["pending", "accepted"]),
                name="offer_one_live_thread",
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="offer_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="accepted", reservation__isnull=False) | ~Q(status="accepted"),
                name="offer_accepted_holds_stock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount_cents} {self.currency} on {self.item_id} ({self.status})"

    def is_due(self, now=None) -> bool:
        """Live but past its expiry: expired, even before the sweep has run."""
        return self.status in self.LIVE and self.expires_at <= (now or timezone.now())


class OfferEvent(models.Model):
    """Audit trail: every status change of an offer, who made it and with which key.

    A money action's idempotency key is kept here, unique per actor: when a retried
    request brings it back, the offer it acted on is returned instead of acting again.
    """

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, choices=Offer.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["actor", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="offer_event_key_per_actor",
            )
        ]
        indexes = [models.Index(fields=["offer", "occurred_at"], name="offer_event_order")]


class AutoPrices(models.Model):
    """A seller's standing answers for an item: offers at or above `accept_cents` are
    accepted at once, offers below `decline_cents` declined at once."""

    item = models.OneToOneField("stalls.Item", on_delete=models.CASCADE, related_name="auto_prices")
    accept_cents = models.PositiveIntegerField(null=True, blank=True)
    decline_cents = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(accept_cents__isnull=True)
                | Q(decline_cents__isnull=True)
                | Q(decline_cents__lt=F("accept_cents")),
                name="auto_decline_below_accept",
            )
        ]
