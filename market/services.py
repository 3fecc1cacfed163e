"""Writes for the market: laying out sections and recording what visitors do."""

from django.core.cache import cache
from django.db import transaction

from .models import AnalyticsEvent, Section
from .selectors import LAYOUT_CACHE_KEY


def sections_ensure(*, coordinates: list[tuple[int, int]]) -> int:
    """Create the sections that do not exist yet; returns how many were made."""
    existing = set(Section.objects.values_list("x", "y"))
    missing = [Section(x=x, y=y) for x, y in coordinates if (x, y) not in existing]
    with transaction.atomic():
        Section.objects.bulk_create(missing, ignore_conflicts=True)
        transaction.on_commit(lambda: cache.delete(LAYOUT_CACHE_KEY))
    return len(missing)


def grid_viewed_record(*, x: int, y: int, user, visitor_id: str) -> None:
    """Append one `grid_viewed` event; signed-in users count by account."""
    AnalyticsEvent.objects.create(
        kind=AnalyticsEvent.Kind.GRID_VIEWED,
        x=x,
        y=y,
        user=user if user.is_authenticated else None,
        visitor=user.public_id if user.is_authenticated else visitor_id,
    )
