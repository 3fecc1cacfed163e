"""Roll-ups against windows computed by hand, late events, re-runs and downtime."""

from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.models import (
    DailyKind,
    DailyStall,
    DailyVisitor,
    Event,
    Kind,
    RollupCursor,
    SectionActivity,
)
from analytics.rollups import (
    DAILY,
    SECTION_ACTIVITY,
    events_prune,
    rollup_run,
    rollup_windows,
    rollups_run,
)

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)  # a window boundary (epoch seconds % 30 == 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(kind=Kind.GRID_VIEWED, *, when: float, recorded: float | None = None, **fields):
    return Event.objects.create(
        kind=kind,
        occurred_at=at(when),
        recorded_at=at(recorded if recorded is not None else when + 1),
        **fields,
    )


def activity() -> dict[tuple[datetime, int], tuple[int, int, int]]:
    return {
        (row.window_start, row.section_id): (row.visitors, row.views, row.events)
        for row in SectionActivity.objects.all()
    }


@pytest.fixture
def two_windows(db):
    """Window [0, 30): section 1 seen by a, a, b and a chat by a; section 2 by c.
    Window [30, 60): section 1 by b; an order paid by c (no section)."""
    event(when=1, visitor="a", section_id=1)
    event(when=12, visitor="a", section_id=1)
    event(Kind.STALL_VIEWED, when=29.9, visitor="b", section_id=1, stall_id=7)
    event(Kind.CHAT_SENT, when=20, visitor="a", section_id=1, stall_id=7)
    event(when=5, visitor="c", section_id=2)
    event(when=30, visitor="b", section_id=1)
    event(Kind.ORDER_PAID, when=45, visitor="c", stall_id=7, section_id=1, amount_cents=2500)


def test_section_windows_match_hand_counts(two_windows):
    rollup_run(SECTION_ACTIVITY, now=at(120))
    assert activity() == {
        (at(0), 1): (2, 3, 4),  # visitors a, b; views 2 grid + 1 stall; 4 events
        (at(0), 2): (1, 1, 1),
        (at(30), 1): (2, 1, 2),  # b's view and c's payment
    }


def test_a_run_sees_only_settled_events(two_windows):
    rollup_run(SECTION_ACTIVITY, now=at(32))  # settle 2 s: recorded before 30 s only
    assert set(activity()) == {(at(0), 1), (at(0), 2)}
    rollup_run(SECTION_ACTIVITY, now=at(120))
    assert set(activity()) == {(at(0), 1), (at(0), 2), (at(30), 1)}


def test_running_a_window_twice_gives_the_same_rows(two_windows):
    rollup_run(SECTION_ACTIVITY, now=at(120))
    first = activity()
    rollup_windows(SECTION_ACTIVITY, start=at(0), end=at(60))
    rollup_run(SECTION_ACTIVITY, now=at(120), since=at(0))
    assert activity() == first
    assert SectionActivity.objects.count() == 3


def test_a_late_event_re_rolls_its_window_only(two_windows):
    rollup_run(SECTION_ACTIVITY, now=at(120))
    untouched = SectionActivity.objects.get(window_start=at(30)).pk
    # Occurred in the first window, reached the table four minutes later.
    event(when=3, recorded=240, visitor="d", section_id=2)
    rollup_run(SECTION_ACTIVITY, now=at(300))
    assert activity()[(at(0), 2)] == (2, 2, 2)
    assert SectionActivity.objects.get(window_start=at(30)).pk == untouched


def test_catching_up_after_downtime(db):
    for minute in range(60):  # an hour of events nobody rolled up
        event(when=minute * 60 + 10, visitor=f"v{minute % 3}", section_id=1)
    written = rollup_run(SECTION_ACTIVITY, now=at(3600 + 60))
    assert written == 60
    assert SectionActivity.objects.count() == 60
    assert RollupCursor.objects.get(name="section_activity").recorded_until == at(3658)


def test_daily_tables_match_hand_counts(db):
    day = T0.date()
    event(when=0, visitor="a", section_id=1, stall_id=7)
    event(Kind.STALL_VIEWED, when=60, visitor="a", section_id=1, stall_id=7)
    event(Kind.STALL_VIEWED, when=70, visitor="b", section_id=1, stall_id=7)
    event(
        Kind.ORDER_PAID,
        when=100,
        visitor="b",
        section_id=1,
        stall_id=7,
        amount_cents=2000,
        fee_cents=100,
    )
    event(
        Kind.ORDER_PAID,
        when=200,
        visitor="c",
        section_id=2,
        stall_id=8,
        amount_cents=500,
        fee_cents=25,
    )
    event(Kind.ORDER_SHIPPED, when=300, visitor="c", stall_id=8, duration_seconds=3600)
    event(when=86400, visitor="a", section_id=1)  # the next day
    event(Kind.AUCTION_ENDED, when=400, stall_id=8, amount_cents=900)  # nobody's action
    rollup_run(DAILY, now=at(2 * 86400))
    ended = DailyKind.objects.get(day=day, kind=Kind.AUCTION_ENDED)
    assert (ended.events, ended.visitors) == (1, 0)
    paid = DailyKind.objects.get(day=day, kind=Kind.ORDER_PAID)
    assert (paid.events, paid.visitors, paid.amount_cents, paid.fee_cents) == (2, 2, 2500, 125)
    assert DailyKind.objects.get(day=day, kind=Kind.ORDER_SHIPPED).duration_seconds == 3600
    views = DailyStall.objects.get(day=day, kind=Kind.STALL_VIEWED, stall_id=7)
    assert (views.events, views.visitors, views.section_id) == (2, 2, 1)
    assert sorted(DailyVisitor.objects.filter(day=day).values_list("visitor", flat=True)) == [
        "a",
        "b",
        "c",
    ]
    assert list(
        DailyVisitor.objects.filter(day=date(2026, 12, 2)).values_list("visitor", flat=True)
    ) == ["a"]


def test_a_late_event_updates_its_day(db):
    event(Kind.ORDER_PAID, when=100, visitor="b", stall_id=7, amount_cents=2000)
    rollups_run(now=at(600))
    event(Kind.ORDER_PAID, when=200, recorded=900, visitor="c", stall_id=7, amount_cents=500)
    rollups_run(now=at(1200))
    assert DailyKind.objects.get(kind=Kind.ORDER_PAID).amount_cents == 2500
    assert DailyStall.objects.get(kind=Kind.ORDER_PAID).events == 2


def test_retention_drops_only_what_every_rollup_has_read(db, settings):
    settings.ANALYTICS_RETENTION_DAYS = 1
    event(when=0, visitor="old", section_id=1)
    event(when=3 * 86400, visitor="new", section_id=1)
    now = at(3 * 86400 + 60)
    assert events_prune(now=now) == 0  # nothing rolled up yet
    rollup_run(SECTION_ACTIVITY, now=at(120))
    assert events_prune(now=now) == 0  # the daily roll-up has not read it
    rollup_run(DAILY, now=at(120))
    assert events_prune(now=now) == 1
    assert list(Event.objects.values_list("visitor", flat=True)) == ["new"]
    # The history stays, and a run after the drop does not rebuild the old window.
    rollups_run(now=now, since=at(-60))
    assert SectionActivity.objects.filter(window_start=at(0)).exists()
    assert DailyVisitor.objects.filter(visitor="old").exists()
