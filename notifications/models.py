from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Kind(models.TextChoices):
    """What a notice is about. Other apps name these when they call `notify`."""

    OUTBID = "outbid", "You were outbid"
    AUCTION_WON = "auction_won", "You won an auction"
    AUCTION_LOST = "auction_lost", "An auction you bid in ended"
    AUCTION_ENDING = "auction_ending", "An auction you watch is ending"
    OFFER_RECEIVED = "offer_received", "An offer came in"
    OFFER_COUNTERED = "offer_countered", "An offer was countered"
    OFFER_ACCEPTED = "offer_accepted", "An offer was accepted"
    OFFER_EXPIRING = "offer_expiring", "An offer is about to expire"
    ORDER_PAID = "order_paid", "An order was paid"
    ORDER_SHIPPED = "order_shipped", "An order was shipped"
    ORDER_DELIVERED = "order_delivered", "An order arrived"
    SELLER_LIVE = "seller_live", "A seller you follow went live"
    SELLER_LISTED = "seller_listed", "A seller you follow listed an item"
    PRICE_DROP = "price_drop", "An item you watch got cheaper"
    STALL_MOVED = "stall_moved", "A steward moved your stall"
    PHOTO_SCREENED = "photo_screened", "A photo you uploaded was screened"
    REPORT_RESOLVED = "report_resolved", "A report you made was dealt with"
    SANCTIONED = "sanctioned", "A steward restricted your chat"
    APPEAL_DECIDED = "appeal_decided", "Your appeal was decided"
    STEWARD_ELECTION = "steward_election", "Steward elections"
    DISPUTE = "dispute", "A dispute needs your answer or decision"
    GIVEAWAY_WON = "giveaway_won", "You won a giveaway"


class Notice(models.Model):
    """One thing that happened that its recipient should know about.

    Written by the `notifications.tasks.deliver_notice` job, never in the transaction
    of the action it tells about. The job may run twice (a retry): `public_id` is
    chosen when the action asks, so a second run finds the first's row; `dedupe_key`
    lets a caller say two asks are the same news (a sweep that sees the same offer
    about to expire on each pass).
    """

    public_id = PublicIdField()
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=500)
    dedupe_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notice_recipient_recent"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notice_unread"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notice_dedupe_per_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.title}"

    @property
    def unread(self) -> bool:
        return self.read_at is None


class EmailSettings(models.Model):
    """Which kinds a person also gets by email (in the app they get every kind).

    No row means the defaults (`notifications.kinds.EMAILED_BY_DEFAULT`); the row is
    written the first time they change anything, or unsubscribe from an email.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notice_email_settings",
        primary_key=True,
    )
    email_kinds = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"email settings of {self.user_id}"
