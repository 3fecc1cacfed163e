"""Background work for giveaways. Each task calls one service."""

from celery import shared_task

from .services import giveaways_close_due


@shared_task
def close_due_giveaways() -> int:
    """Beat, every minute: close giveaways not drawn, or prizes not claimed, in time;
    their held units go back on sale."""
    return giveaways_close_due()
