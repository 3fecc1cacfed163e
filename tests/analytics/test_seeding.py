"""The benchmark's generated month is written whole and reads back as generated (COPY
on PostgreSQL, a prepared INSERT elsewhere)."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from analytics.models import Event
from analytics.seeding import COLUMNS, Catalogue, events_generate, events_seed

NOW = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)
CATALOGUE = Catalogue(sections=[1, 2, 3], stalls=[(10, 1, [100, 101, 102]), (11, 2, [110])])


@pytest.mark.django_db
def test_the_seeded_events_read_back_as_generated():
    generated = list(events_generate(events=3000, catalogue=CATALOGUE, days=7, now=NOW))

    assert events_seed(events=3000, catalogue=CATALOGUE, days=7, now=NOW) == 3000

    stored = list(Event.objects.order_by("id").values_list(*COLUMNS))
    assert len(generated) == 3000
    assert stored == generated
    assert datetime(2026, 11, 25, tzinfo=UTC) <= min(row[1] for row in stored)
    assert max(row[1] for row in stored) < NOW
    assert Event.objects.filter(amount_cents__gt=0, kind="order_paid").exists()


def test_the_market_is_busiest_after_work_on_the_clock():
    hours = Counter(row[1].hour for row in events_generate(events=5000, catalogue=CATALOGUE))
    evening = sum(hours[hour] for hour in (17, 18, 19, 20))
    small_hours = sum(hours[hour] for hour in (1, 2, 3, 4))
    assert evening > 5 * small_hours
