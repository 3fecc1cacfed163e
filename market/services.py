"""Writes for the market: laying out sections, recording walks, the live heat-map."""

import json
import time

from django.core.cache import cache
from django.db import transaction

from analytics.crowd import crowd_seen
from analytics.models import Kind
from analytics.recording import record, visitor_of
from bazaar.broadcast import MARKET_GROUP, broadcast_on_commit

from .consumers import HEATMAP_CACHE_KEY
from .models import Section
from .selectors import LAYOUT_CACHE_KEY, market_layout, people_by_section


def sections_ensure(*, coordinates: list[tuple[int, int]]) -> int:
    """Create the sections that do not exist yet; returns how many were made."""
    existing = set(Section.objects.values_list("x", "y"))
    missing = [Section(x=x, y=y) for x, y in coordinates if (x, y) not in existing]
    with transaction.atomic():
        Section.objects.bulk_create(missing, ignore_conflicts=True)
        transaction.on_commit(lambda: cache.delete(LAYOUT_CACHE_KEY))
    return len(missing)


def grid_viewed_record(*, section_id: int, user, visitor_id: str) -> None:
    """Someone walked into a section: they count in its crowd at once (the heat-map)
    and a `grid_viewed` event joins the stream."""
    visitor = visitor_of(user, visitor_id)
    crowd_seen(person=visitor, section_id=section_id)
    record(Kind.GRID_VIEWED, visitor=visitor, section_id=section_id)


def heatmap_frame() -> dict:
    """The crowd per section now, as the minimap reads it: `[[x, y, people], ...]`."""
    coordinates = market_layout().coordinates
    counts = people_by_section()
    sections = sorted(
        [*coordinates[section_id], people]
        for section_id, people in counts.items()
        if section_id in coordinates
    )
    return {"type": "heat", "at": int(time.time() * 1000), "sections": sections}


def heatmap_publish() -> bool:
    """Send the heat-map to every open grid page if the crowd changed since the last
    frame; encoded once, whatever the number of pages. Returns whether it went out."""
    frame = heatmap_frame()
    last = cache.get(HEATMAP_CACHE_KEY)
    if last is not None and json.loads(last)["sections"] == frame["sections"]:
        return False
    encoded = json.dumps(frame, separators=(",", ":"))
    cache.set(HEATMAP_CACHE_KEY, encoded, None)
    broadcast_on_commit(MARKET_GROUP, {"type": "heat.map", "frame": encoded})
    return True
