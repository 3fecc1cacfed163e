"""The market's event stream and what the roll-ups make of it.

Events name sections, stalls and items by their integer ids, with no foreign keys:
this app sits below market and stalls (every app records into it), the stream is
append-only, and deleting a stall must not rewrite its history.
"""

from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    GRID_VIEWED = "grid_viewed"
    STALL_VIEWED = "stall_viewed"
    ITEM_VIEWED = "item_viewed"
    CHAT_SENT = "chat_sent"
    OFFER_MADE = "offer_made"
    OFFER_ACCEPTED = "offer_accepted"
    BID_PLACED = "bid_placed"
    AUCTION_ENDED = "auction_ended"
    AUCTION_WON = "auction_won"
    CART_ADDED = "cart_added"
    CHECKOUT_STARTED = "checkout_started"
    ORDER_PAID = "order_paid"
    ORDER_SHIPPED = "order_shipped"
    ORDER_DISPUTED = "order_disputed"
    ORDER_RELEASED = "order_released"
    ORDER_REFUNDED = "order_refunded"
    SHOW_STARTED = "show_started"
    VIEWER_JOINED = "viewer_joined"


VIEW_KINDS = (Kind.GRID_VIEWED, Kind.STALL_VIEWED, Kind.ITEM_VIEWED)


class Event(models.Model):
    """One thing someone did. `visitor` is the user's public id when signed in, else
    the visitor cookie's id. `occurred_at` is when it happened; `recorded_at` when it
    reached this table (events are written in batches, so a little later): the
    roll-ups find what is new by `recorded_at` and file it by `occurred_at`."""

    kind = models.CharField(max_length=24, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now)
    visitor = models.CharField(max_length=26, blank=True)
    section_id = models.BigIntegerField(null=True, blank=True)
    stall_id = models.BigIntegerField(null=True, blank=True)
    item_id = models.BigIntegerField(null=True, blank=True)
    # Money events: what was paid (or refunded) and the platform's fee on it.
    amount_cents = models.BigIntegerField(null=True, blank=True)
    fee_cents = models.BigIntegerField(null=True, blank=True)
    # order_shipped: seconds from payment to shipping.
    duration_seconds = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recorded_at"], name="event_recorded"),
            models.Index(fields=["occurred_at"], name="event_occurred"),
            models.Index(fields=["stall_id", "occurred_at"], name="event_stall_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class SectionActivity(models.Model):
    """A section's crowd over one 30-second window: the heat-map's history."""

    window_start = models.DateTimeField()
    section_id = models.BigIntegerField()
    visitors = models.PositiveIntegerField()
    views = models.PositiveIntegerField()
    events = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["window_start", "section_id"], name="section_activity_window_unique"
            )
        ]
        verbose_name_plural = "section activity"


class DailyKind(models.Model):
    """The whole market's day for one kind of event (UTC days)."""

    day = models.DateField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    events = models.PositiveIntegerField()
    visitors = models.PositiveIntegerField()
    amount_cents = models.BigIntegerField(default=0)
    fee_cents = models.BigIntegerField(default=0)
    duration_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "kind"], name="daily_kind_unique")]


class DailyStall(models.Model):
    """One stall's day for one kind of event; `section_id` is where the stall stood."""

    day = models.DateField()
    kind = models.CharField(max_length=24, choices=Kind.choices)
    stall_id = models.BigIntegerField()
    section_id = models.BigIntegerField(null=True)
    events = models.PositiveIntegerField()
    visitors = models.PositiveIntegerField()
    amount_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "stall_id", "section_id"], name="daily_stall_unique"
            )
        ]
        indexes = [models.Index(fields=["stall_id", "day"], name="daily_stall_by_stall")]


class DailyVisitor(models.Model):
    """Who was about on a day: DAU, WAU and MAU count these rows."""

    day = models.DateField()
    visitor = models.CharField(max_length=26)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "visitor"], name="daily_visitor_unique")
        ]


class ActivePeople(models.Model):
    """DAU, WAU and MAU as of a day, counted by the daily roll-up: the distinct counts
    over a week and a month are too slow to make while a dashboard waits."""

    day = models.DateField(primary_key=True)
    dau = models.PositiveIntegerField()
    wau = models.PositiveIntegerField()
    mau = models.PositiveIntegerField()


class StallHour(models.Model):
    """Views of a stall (its page and its items) in one UTC hour of a day."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    stall_id = models.BigIntegerField()
    views = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stall_id", "day", "hour"], name="stall_hour_unique")
        ]


class RollupCursor(models.Model):
    """How far (by `Event.recorded_at`) a roll-up has read the stream."""

    name = models.CharField(max_length=32, primary_key=True)
    recorded_until = models.DateTimeField()
