"""Reads for the market grid: its layout, a section's neighbours, the minimap."""

import math
import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from analytics.crowd import crowd_by_section
from stalls.room.visitors import room_crowd_by_section

from .models import Section

LAYOUT_CACHE_KEY = "market:layout"
LAYOUT_CACHE_SECONDS = 300

# The minimap's tints: a square is tinted at level n once it holds HEAT_THRESHOLDS[n-1]
# people; fixed steps, so the legend means the same on every page.
HEAT_THRESHOLDS = [1, 2, 5, 10]
HEAT_LEGEND = ["nobody", "1", "2–4", "5–9", "10+"]

# Unit steps for the four neighbours: x grows to the right, y grows downward.
DIRECTIONS = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}


@dataclass(frozen=True)
class Layout:
    """Which sections exist, by coordinates, with their database ids."""

    ids: dict[tuple[int, int], int]

    def contains(self, x: int, y: int) -> bool:
        return (x, y) in self.ids

    @cached_property
    def coordinates(self) -> dict[int, tuple[int, int]]:
        """Section ids to their (x, y)."""
        return {pk: xy for xy, pk in self.ids.items()}

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


def people_by_section() -> dict[int, int]:
    """People in each section right now: those walking the grid (analytics.crowd) and
    those in its stalls' rooms (the stall room's own presence, one "who is here" for
    rooms and heat-map alike)."""
    counts = Counter(crowd_by_section())
    counts.update(room_crowd_by_section())
    return dict(counts)


def _crowd_by_coordinates(layout: Layout) -> dict[tuple[int, int], int]:
    """People in each section right now, by coordinates: the same live counts the
    heat-map frames carry, so a page and its next frame agree."""
    coordinates = layout.coordinates
    return {
        coordinates[section_id]: people
        for section_id, people in people_by_section().items()
        if section_id in coordinates
    }


def minimap(*, layout: Layout, x: int, y: int) -> dict:
    """The 7x7 squares around (x, y): which exist and how many people are in each now."""
    radius = settings.MINIMAP_RADIUS
    counts = _crowd_by_coordinates(layout)
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
    return {
        "x": x,
        "y": y,
        "radius": radius,
        "squares": squares,
        "people": sum(square["visitors"] for square in squares),
        "at": int(time.time() * 1000),
        "thresholds": HEAT_THRESHOLDS,
        "legend": HEAT_LEGEND,
    }


OVERVIEW_SIZE = 12
# The grid's section page, as the apps whose parts it shows name their cache reads for
# a section's cards (`bazaar.cache.register_page_reads`), read ahead at once.
SECTION_PAGE = "section-page"


def market_overview(*, layout: Layout) -> dict:
    """The whole market as the front page draws it: rows of squares (at most 12 x 12
    from the top-left corner), each with its recent visitors, and the busiest section."""
    counts = _crowd_by_coordinates(layout)
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
