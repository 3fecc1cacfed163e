"""Reads about live shows: which stalls are live, how many watch."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from bazaar.errors import NotFound

from .models import Show


def _heard_since():
    return timezone.now() - timedelta(seconds=settings.SHOW_TIMEOUT_SECONDS)


def live_shows():
    """Shows on air: not ended, and their seller heard from recently (a show whose
    seller vanished counts as over even before the sweep ends it)."""
    return Show.objects.filter(ended_at__isnull=True, heartbeat_at__gte=_heard_since())


def show_live_for_stall(*, stall) -> Show | None:
    return live_shows().filter(stall=stall).first()


def live_now(*, limit: int = 8) -> list[Show]:
    """The front page's "Live now" row: the most watched first."""
    return list(
        live_shows()
        .select_related("stall__section", "stall__seller__user")
        .order_by("-viewer_count", "-started_at")[:limit]
    )


def show_get(*, public_id: str) -> Show:
    show = Show.objects.select_related("stall__seller__user").filter(public_id=public_id).first()
    if show is None:
        raise NotFound("No show has that address.")
    return show
