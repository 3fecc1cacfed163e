"""Roll-ups of the event stream, and dropping raw events the roll-ups have.

Each roll-up files events into fixed windows by `occurred_at` (30 s for section
activity, a UTC day for the daily tables) and keeps a cursor on `recorded_at`. A run
finds the windows that received events since the cursor (less OVERLAP, so an event
whose insert committed a moment after a later one is still seen) and recomputes
those windows whole: delete their rows, insert fresh ones, move the cursor, all in
one transaction. So a run is idempotent (a window run twice gives the same rows),
a late event re-rolls the window it belongs to, and a run after downtime catches up
on everything recorded meanwhile.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    Func,
    Model,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from .models import (
    VIEW_KINDS,
    ActivePeople,
    DailyKind,
    DailyStall,
    DailyVisitor,
    Event,
    RollupCursor,
    SectionActivity,
    StallHour,
)

# Events become visible to a run only once they are this old (their batch committed).
SETTLE = timedelta(seconds=2)
# A run looks back this far past its cursor: inserts that committed out of order.
OVERLAP = timedelta(seconds=60)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MERGE_SECONDS = 3600


class EpochSeconds(Func):
    """Whole seconds since 1970 of a UTC timestamp, on PostgreSQL and SQLite."""

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(
            compiler, conn, template="FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"
        )

    def as_sqlite(self, compiler, conn, **extra):
        # '%%%%s' reaches the driver as '%%s', which Django's SQLite backend unescapes.
        return self.as_sql(
            compiler, conn, template="CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        )


# Distinct people; events without one (an auction ending) count nobody.
PEOPLE = Count("visitor", distinct=True, filter=~Q(visitor=""))


def _hour_of_day() -> Func:
    """The UTC hour (0-23) an event occurred in, by arithmetic on epoch seconds."""
    return Func(
        EpochSeconds("occurred_at"),
        template="((%(expressions)s %%%% 86400) / 3600)",
        output_field=BigIntegerField(),
    )


def _bucket(seconds: int) -> Func:
    """The number of the `seconds`-long window an event occurred in."""
    return Func(
        EpochSeconds("occurred_at"),
        template=f"(%(expressions)s / {int(seconds)})",
        output_field=BigIntegerField(),
    )


def window_start(bucket: int, seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=bucket * seconds)


@dataclass(frozen=True)
class Rollup:
    name: str
    seconds: int
    # Recompute the windows in [start, end), inside the caller's transaction; rows written.
    rebuild: Callable[[datetime, datetime], int]


class EpochTime(Func):
    """The UTC timestamp `expression` seconds after 1970, stored as the database stores a
    DateTimeField (SQLite: the text Django writes for a whole second)."""

    output_field = DateTimeField()

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="to_timestamp(%(expressions)s)")

    def as_sqlite(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="datetime(%(expressions)s, 'unixepoch')")


def _upsert(model: type[Model], fresh: QuerySet, *, key: tuple[str, ...]) -> int:
    """Write `fresh` (a values() query whose names are `model`'s columns) into `model` in
    one INSERT ... SELECT: new keys are inserted, existing ones take the new counts.
    The rows never pass through Python; returns how many were written."""
    select, params = fresh.query.sql_with_params()
    names = [*fresh.query.values_select, *fresh.query.annotation_select]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in names)
    updates = ", ".join(
        f"{quote(name)} = excluded.{quote(name)}" for name in names if name not in key
    )
    # Names are the model's own, quoted; values travel as the query's parameters.
    # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT {columns} FROM ({select}) AS fresh WHERE true "
        f"ON CONFLICT ({', '.join(quote(name) for name in key)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _section_activity(start: datetime, end: datetime) -> int:
    """Recount each section's 30 s windows in [start, end) in the database. A window's
    rows are replaced by a recount of its events, never deleted: events are append-only,
    so a recount finds every section a window had, and a window whose raw events were
    dropped by retention keeps its history."""
    fresh = (
        Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end, section_id__isnull=False)
        .values("section_id", window_start=EpochTime(_bucket(30) * 30))
        .annotate(
            visitors=PEOPLE,
            views=Count("id", filter=Q(kind__in=VIEW_KINDS)),
            events=Count("id"),
        )
    )
    return _upsert(SectionActivity, fresh, key=("window_start", "section_id"))


def _day(bucket: int) -> date:
    return window_start(bucket, 86400).date()


def _daily(start: datetime, end: datetime) -> int:
    events = Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end).annotate(
        bucket=_bucket(86400)
    )
    first, last = start.date(), end.date()
    kinds = [
        DailyKind(
            day=_day(row["bucket"]),
            kind=row["kind"],
            events=row["events"],
            visitors=row["visitors"],
            amount_cents=row["amount"] or 0,
            fee_cents=row["fee"] or 0,
            duration_seconds=row["duration"] or 0,
        )
        for row in events.values("bucket", "kind").annotate(
            events=Count("id"),
            visitors=PEOPLE,
            amount=Sum("amount_cents"),
            fee=Sum("fee_cents"),
            duration=Sum("duration_seconds"),
        )
    ]
    stalls = [
        DailyStall(
            day=_day(row["bucket"]),
            kind=row["kind"],
            stall_id=row["stall_id"],
            section_id=row["section_id"],
            events=row["events"],
            visitors=row["visitors"],
            amount_cents=row["amount"] or 0,
        )
        for row in events.filter(stall_id__isnull=False)
        .values("bucket", "kind", "stall_id", "section_id")
        .annotate(events=Count("id"), visitors=PEOPLE, amount=Sum("amount_cents"))
    ]
    visitors = [
        DailyVisitor(day=_day(row["bucket"]), visitor=row["visitor"])
        for row in events.exclude(visitor="").values("bucket", "visitor").distinct()
    ]
    hours = [
        StallHour(
            day=_day(row["bucket"]), hour=row["hour"], stall_id=row["stall_id"], views=row["views"]
        )
        for row in events.filter(stall_id__isnull=False, kind__in=VIEW_KINDS)
        .annotate(hour=_hour_of_day())
        .values("bucket", "hour", "stall_id")
        .annotate(views=Count("id"))
    ]
    for model in (DailyKind, DailyStall, DailyVisitor, StallHour):
        model.objects.filter(day__gte=first, day__lt=last).delete()
    DailyKind.objects.bulk_create(kinds)
    DailyStall.objects.bulk_create(stalls, batch_size=2000)
    DailyVisitor.objects.bulk_create(visitors, batch_size=2000)
    StallHour.objects.bulk_create(hours, batch_size=2000)
    return len(kinds) + len(stalls) + len(visitors) + len(hours) + _active_people(first, last)


def _active_people(first: date, last: date) -> int:
    """Recount DAU/WAU/MAU for the days whose month includes a rebuilt day (up to today)."""
    today = timezone.now().date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 29)]
    rows = []
    for day in (d for d in days if d <= today):

        def distinct(span: int, day=day) -> int:
            since = day - timedelta(days=span - 1)
            return (
                DailyVisitor.objects.filter(day__range=(since, day))
                .values("visitor")
                .distinct()
                .count()
            )

        rows.append(ActivePeople(day=day, dau=distinct(1), wau=distinct(7), mau=distinct(30)))
    ActivePeople.objects.filter(day__in=[row.day for row in rows]).delete()
    ActivePeople.objects.bulk_create(rows)
    return len(rows)


SECTION_ACTIVITY = Rollup("section_activity", 30, _section_activity)
DAILY = Rollup("daily", 86400, _daily)
ROLLUPS = (SECTION_ACTIVITY, DAILY)


def _spans(buckets: list[int], *, seconds: int) -> list[tuple[int, int]]:
    """Buckets as spans to rebuild: [(first, last), ...]. Dirty windows less than an
    hour apart share one span (rebuilding the clean ones between costs less than a
    query each), so a backfill of a sparse month is a few queries, not thousands."""
    gap = max(1, MERGE_SECONDS // seconds)
    spans: list[tuple[int, int]] = []
    for bucket in sorted(buckets):
        if spans and bucket - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], bucket)
        else:
            spans.append((bucket, bucket))
    return spans


def rollup_windows(rollup: Rollup, *, start: datetime, end: datetime) -> int:
    """Recompute every window of `rollup` that [start, end) touches; rows written."""
    first = int((start - EPOCH).total_seconds()) // rollup.seconds
    last = (int((end - EPOCH).total_seconds()) - 1) // rollup.seconds
    with transaction.atomic():
        return rollup.rebuild(
            window_start(first, rollup.seconds), window_start(last + 1, rollup.seconds)
        )


def _cursor_locked(name: str) -> RollupCursor:
    """The roll-up's cursor, locked until the transaction ends (one query once it exists:
    this runs every 30 s, and each round trip counts on a loaded database)."""
    locked = RollupCursor.objects.select_for_update()
    cursor = locked.filter(name=name).first()
    if cursor is None:
        RollupCursor.objects.get_or_create(name=name, defaults={"recorded_until": EPOCH})
        cursor = locked.get(name=name)
    return cursor


def rollup_run(
    rollup: Rollup, *, now: datetime | None = None, since: datetime | None = None
) -> int:
    """Bring `rollup` up to date with what was recorded up to `now` (less SETTLE).

    `since` overrides the cursor (a backfill). Windows older than the raw events'
    retention are left alone: their events may be gone, and a rebuild would lose them.
    """
    now = now or timezone.now()
    upto = now - SETTLE
    horizon = now - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    with transaction.atomic():
        cursor = _cursor_locked(rollup.name)
        if since is None:
            since = max(cursor.recorded_until - OVERLAP, EPOCH)
        buckets = list(
            Event.objects.filter(
                recorded_at__gte=since, recorded_at__lt=upto, occurred_at__gte=horizon
            )
            .annotate(bucket=_bucket(rollup.seconds))
            .values_list("bucket", flat=True)
            .distinct()
        )
        written = 0
        for first, last in _spans(buckets, seconds=rollup.seconds):
            written += rollup.rebuild(
                window_start(first, rollup.seconds), window_start(last + 1, rollup.seconds)
            )
        if upto > cursor.recorded_until:
            cursor.recorded_until = upto
            cursor.save(update_fields=["recorded_until"])
    return written


def rollups_run(*, now: datetime | None = None, since: datetime | None = None) -> dict[str, int]:
    return {rollup.name: rollup_run(rollup, now=now, since=since) for rollup in ROLLUPS}


def events_prune(*, now: datetime | None = None, batch: int = 20000) -> int:
    """Drop raw events past retention that every roll-up has read; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    cursors = dict(RollupCursor.objects.values_list("name", "recorded_until"))
    read_until = min(cursors.get(rollup.name, EPOCH) for rollup in ROLLUPS)
    dropped = 0
    while True:
        ids = list(
            Event.objects.filter(occurred_at__lt=cutoff, recorded_at__lt=read_until).values_list(
                "id", flat=True
            )[:batch]
        )
        if not ids:
            return dropped
        dropped += Event.objects.filter(id__in=ids).delete()[0]
