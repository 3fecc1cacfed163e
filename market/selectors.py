"""Reads for the market grid: its layout, a section's neighbours, the minimap."""

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from .models import AnalyticsEvent, Section

LAYOUT_CACHE_KEY = "market:layout"
LAYOUT_CACHE_SECONDS = 300
MINIMAP_CACHE_KEY = "market:minimap"

# Unit steps for the four neighbours: x grows to the right, y grows downward.
DIRECTIONS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}


@dataclass(frozen=True)
class Layout:
    """Which sections exist, by coordinates, with their database ids."""

    ids: dict[tuple[int, int], int]

    def contains(self, x: int, y: int) -> bool:
        return (x, y) in self.ids

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        xs = [x for x, _ in self.ids] or [0]
        ys = [y for _, y in self.ids] or [0]
        return min(xs), min(ys), max(xs), max(ys)


def market_layout() -> Layout:
    """All sections in one small cached read; section services clear it."""
    layout = cache.get(LAYOUT_CACHE_KEY)
    if layout is None:
        layout = Layout({(x, y): pk for pk, x, y in Section.objects.values_list("pk", "x", "y")})
        cache.set(LAYOUT_CACHE_KEY, layout, LAYOUT_CACHE_SECONDS)
    return layout


def neighbours(*, layout: Layout, x: int, y: int) -> dict[str, dict | None]:
    """The four neighbours (coordinates and URL), or None past the market's edge."""
    found = {}
    for name, (dx, dy) in DIRECTIONS.items():
        nx, ny = x + dx, y + dy
        found[name] = (
            {"x": nx, "y": ny, "url": reverse("market:section", args=[nx, ny])}
            if layout.contains(nx, ny)
            else None
        )
    return found


def _recent_visitors_by_section() -> dict[tuple[int, int], int]:
    """Distinct visitors per section over the last 30 s, for the whole market.

    One indexed range query over the event table, cached for 5 s and shared by
    every page, so the cost does not grow with the number of viewers.
    """
    counts = cache.get(MINIMAP_CACHE_KEY)
    if counts is None:
        since = timezone.now() - timedelta(seconds=settings.MINIMAP_WINDOW_SECONDS)
        rows = (
            AnalyticsEvent.objects.filter(
                kind=AnalyticsEvent.Kind.GRID_VIEWED, occurred_at__gte=since
            )
            .values("x", "y")
            .annotate(visitors=Count("visitor", distinct=True))
        )
        counts = {(row["x"], row["y"]): row["visitors"] for row in rows}
        cache.set(MINIMAP_CACHE_KEY, counts, settings.MINIMAP_CACHE_SECONDS)
    return counts


def minimap(*, layout: Layout, x: int, y: int) -> dict:
    """The 7x7 squares around (x, y): which exist and how many visitors each had."""
    radius = settings.MINIMAP_RADIUS
    counts = _recent_visitors_by_section()
    squares = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            sx, sy = x + dx, y + dy
            squares.append(
                {
                    "x": sx,
                    "y": sy,
                    "exists": layout.contains(sx, sy),
                    "visitors": counts.get((sx, sy), 0),
                }
            )
    return {"x": x, "y": y, "radius": radius, "squares": squares}


OVERVIEW_SIZE = 12


def market_overview(*, layout: Layout) -> dict:
    """The whole market as the front page draws it: rows of squares (at most 12 x 12
    from the top-left corner), each with its recent visitors, and the busiest section."""
    counts = _recent_visitors_by_section()
    left, top, right, bottom = layout.bounds
    right, bottom = min(right, left + OVERVIEW_SIZE - 1), min(bottom, top + OVERVIEW_SIZE - 1)
    busiest = max(
        (coordinates for coordinates in counts if layout.contains(*coordinates)),
        key=lambda coordinates: counts[coordinates],
        default=None,
    )
    most = max(counts.values(), default=0) or 1
    rows = [
        [
            {
                "x": x,
                "y": y,
                "exists": layout.contains(x, y),
                "visitors": counts.get((x, y), 0),
                "heat": math.ceil(4 * counts.get((x, y), 0) / most),  # 0-4
            }
            for x in range(left, right + 1)
        ]
        for y in range(top, bottom + 1)
    ]
    return {
        "rows": rows,
        "columns": right - left + 1,
        "sections": len(layout.ids),
        "busiest": busiest and {"x": busiest[0], "y": busiest[1], "visitors": counts[busiest]},
    }
