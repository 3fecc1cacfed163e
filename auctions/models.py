from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Auction(models.Model):
    """One unit of an item sold to the highest bidder, reserved in the stock ledger
    while it runs. The row is the lock every bid and the closing sweep take."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Starts soon"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        SETTLED = "settled", "Sold"
        UNSOLD = "unsold", "Not sold"
        CANCELLED = "cancelled", "Cancelled"

    class ChargeKind(models.TextChoices):
        """What the pending charge is for, which decides what a declined card leads to."""

        WIN = "win"
        BUY_NOW = "buy_now"
        SECOND_CHANCE = "second_chance"

    public_id = PublicIdField()
    item = models.ForeignKey("stalls.Item", on_delete=models.PROTECT, related_name="auctions")
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auctions_selling"
    )
    reservation = models.ForeignKey(
        "stalls.Reservation", on_delete=models.PROTECT, null=True, related_name="+"
    )
    currency = models.CharField(max_length=3)
    start_cents = models.PositiveIntegerField()
    reserve_cents = models.PositiveIntegerField(null=True, blank=True)
    buy_now_cents = models.PositiveIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    hard_ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices)
    version = models.PositiveIntegerField(default=1)
    bid_count = models.PositiveIntegerField(default=0)
    price_cents = models.PositiveIntegerField(null=True, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    leader_max_cents = models.PositiveIntegerField(null=True, blank=True)
    # Who is to pay, how much, and the charge in progress (empty reference: none due).
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    final_price_cents = models.PositiveIntegerField(null=True, blank=True)
    charge_kind = models.CharField(max_length=16, choices=ChargeKind.choices, blank=True)
    charge_reference = models.CharField(max_length=64, blank=True)
    charge_attempts = models.PositiveIntegerField(default=0)
    charge_started_at = models.DateTimeField(null=True, blank=True)
    charge_failure = models.CharField(max_length=200, blank=True)
    second_chance_until = models.DateTimeField(null=True, blank=True)
    # The winner whose card was declined at the close: told privately, never shown to
    # others (the item goes to the runner-up, or the auction ends unsold).
    declined_bidder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    order_reference = models.CharField(max_length=64, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A flash auction the seller started in the stall room (auctions.flash): shown over
    # the stall while it runs; sudden death: its end never moves (no soft close).
    flash = models.BooleanField(default=False)
    sudden_death = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "idempotency_key"], name="auction_seller_idempotency"
            ),
            models.CheckConstraint(condition=Q(start_cents__gt=0), name="auction_start_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__lte=models.F("hard_ends_at")), name="auction_end_before_hard"
            ),
            models.UniqueConstraint(
                fields=["seller"],
                condition=Q(flash=True, status="live"),
                name="auction_one_live_flash_per_seller",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "ends_at"], name="auction_sweep"),
            models.Index(fields=["item", "status"], name="auction_item_status"),
        ]

    def __str__(self) -> str:
        return f"Auction {self.public_id} ({self.status})"


class Bid(models.Model):
    """An accepted bid: one row per bid a person placed, plus the rows the system
    placed for a proxy maximum. `leading` rows form the high-bid ladder: their
    amounts only rise, so no two share a price."""

    class Kind(models.TextChoices):
        BID = "bid", "Bid"
        PROXY = "proxy", "Automatic bid"
        MAX = "max", "Raised maximum"

    public_id = PublicIdField()
    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    bidder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="auction_bids"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount_cents = models.PositiveIntegerField()
    max_cents = models.PositiveIntegerField(null=True, blank=True)
    leading = models.BooleanField()
    received_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=64, blank=True)
    # The auction's version once this bid was in (every row one bid produced shares it).
    version = models.PositiveIntegerField(null=True, blank=True)
    # What the person typed (a row's amount is the price it set): a retraction replays it.
    offered_cents = models.PositiveIntegerField(null=True, blank=True)
    retraction = models.ForeignKey(
        "BidRetraction", on_delete=models.PROTECT, null=True, blank=True, related_name="bids"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bidder", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="bid_bidder_idempotency",
            ),
            models.UniqueConstraint(
                fields=["auction", "amount_cents"],
                condition=Q(leading=True),
                name="bid_one_high_bid_per_price",
            ),
        ]
        indexes = [models.Index(fields=["auction", "id"], name="bid_auction_order")]

    @property
    def public(self) -> bool:
        """Everyone sees bids and automatic bids; a leader's raised maximum is private."""
        return self.kind != self.Kind.MAX or self.leading


class BidRetraction(models.Model):
    """A bidder took back their bid(s), as eBay allows: for a typo or a changed
    description. Shown on the bid history and counted for the bidder."""

    class Reason(models.TextChoices):
        TYPO = "typo", "I entered the wrong amount"
        DESCRIPTION = "description_changed", "The seller changed the description"

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="retractions")
    bidder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bid_retractions"
    )
    reason = models.CharField(max_length=24, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["bidder", "created_at"], name="retraction_bidder_recent")]


class BidRefusal(models.Model):
    """A bid refused under the lock for a reason that a later state could undo (too
    low, already leading): kept so that its key, sent again, gets the same answer."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="+")
    bidder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=64)
    code = models.CharField(max_length=32)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bidder", "idempotency_key"], name="bid_refusal_bidder_idempotency"
            )
        ]


class AuctionEvent(models.Model):
    """Audit trail of every status change and charge outcome: who, what, when."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
