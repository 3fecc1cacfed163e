"""A seller's best hours on their own clock, across a day boundary and summer time."""

import zoneinfo
from datetime import UTC, date

import pytest

from analytics.models import StallHour
from analytics.selectors import Period, stall_best_hours

LONDON = zoneinfo.ZoneInfo("Europe/London")  # summer time from 01:00 UTC on 29 March 2026


@pytest.mark.django_db
def test_best_hours_are_counted_on_the_zones_clock_day_by_day():
    for day, hour, views in (
        (date(2026, 3, 28), 23, 2),  # 23:00 GMT, still Saturday
        (date(2026, 3, 29), 23, 5),  # 00:00 BST, Monday already
        (date(2026, 3, 29), 0, 1),  # 00:00 GMT, summer time starts an hour later
        (date(2026, 3, 29), 12, 3),  # 13:00 BST
    ):
        StallHour.objects.create(day=day, hour=hour, stall_id=7, views=views)
    StallHour.objects.create(day=date(2026, 3, 29), hour=12, stall_id=8, views=40)
    period = Period(date(2026, 3, 28), date(2026, 3, 29))

    local = dict(stall_best_hours(stall_id=7, period=period, zone=LONDON))
    utc = dict(stall_best_hours(stall_id=7, period=period, zone=UTC))

    assert len(local) == 24
    assert {hour: n for hour, n in local.items() if n} == {0: 6, 23: 2, 13: 3}
    assert {hour: n for hour, n in utc.items() if n} == {0: 1, 23: 7, 12: 3}
