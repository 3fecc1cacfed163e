"""Giveaways in the stall room: the seller gives one unit of an item to a viewer drawn
at random among those who entered and are present at the draw.

No purchase is needed and entering costs nothing; the prize reaches the winner as an
order at zero price through the usual escrow and shipping path. Every status change
writes a `GiveawayEvent`; the draw itself is recorded whole in `GiveawayDraw` (who was
eligible, in what order, the number picked and when), so it can be checked afterwards.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Giveaway(models.Model):
    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone in the stall"
        FOLLOWERS = "followers", "The stall's followers"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DRAWN = "drawn", "Drawn"
        CLAIMED = "claimed", "Claimed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Not drawn in time"
        UNCLAIMED = "unclaimed", "Not claimed in time"

    public_id = PublicIdField()
    stall = models.ForeignKey("stalls.Stall", on_delete=models.PROTECT, related_name="giveaways")
    item = models.ForeignKey("stalls.Item", on_delete=models.PROTECT, related_name="giveaways")
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="giveaways_given"
    )
    audience = models.CharField(max_length=16, choices=Audience.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The unit held for the prize: from opening until the winner's order takes it.
    reservation = models.ForeignKey(
        "stalls.Reservation", on_delete=models.PROTECT, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    draw_by = models.DateTimeField()
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    drawn_at = models.DateTimeField(null=True, blank=True)
    claim_by = models.DateTimeField(null=True, blank=True)
    order_public_id = models.CharField(max_length=26, blank=True)
    idempotency_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "idempotency_key"], name="giveaway_seller_idempotency"
            ),
            models.UniqueConstraint(
                fields=["stall"], condition=Q(status="open"), name="giveaway_one_open_per_stall"
            ),
        ]
        indexes = [models.Index(fields=["stall", "-opened_at"], name="giveaway_stall_newest")]

    def __str__(self) -> str:
        return f"Giveaway {self.public_id} ({self.status})"

    @property
    def followers_only(self) -> bool:
        return self.audience == self.Audience.FOLLOWERS


class GiveawayEntry(models.Model):
    """One person's tap on "Enter": one row per person and giveaway."""

    giveaway = models.ForeignKey(Giveaway, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="giveaway_entries"
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["giveaway", "user"], name="giveaway_entry_once")
        ]


class GiveawayDraw(models.Model):
    """The audit of a draw: the eligible people in the order they were numbered (by
    public id), how many had entered and were present, the number `secrets` picked
    (an index into `eligible`), the winner, who drew and when."""

    giveaway = models.OneToOneField(Giveaway, on_delete=models.PROTECT, related_name="draw")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(default=timezone.now)
    entrants = models.PositiveIntegerField()
    present = models.PositiveIntegerField()
    eligible = models.JSONField()
    pick = models.PositiveIntegerField()
    method = models.CharField(max_length=40, default="secrets.randbelow")
    winner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")


class GiveawayEvent(models.Model):
    """Audit trail of every status change: who, what, when."""

    giveaway = models.ForeignKey(Giveaway, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
