"""Background work for the market. Each task calls one service."""

from celery import shared_task
from django.conf import settings

from .seeding import demo_auctions_keep
from .services import heatmap_publish


@shared_task
def keep_demo_auctions() -> int:
    """Beat, in the demo market only (local settings): keep a few flash auctions
    running near 0/0. Returns how many it started. A schedule left in the database
    from a demo run does nothing once the demo is off."""
    if not settings.DEMO_MARKET:
        return 0
    return len(demo_auctions_keep())


@shared_task
def push_heatmap() -> bool:
    """Beat, every HEATMAP_SECONDS: the live crowd to every open grid page."""
    return heatmap_publish()
