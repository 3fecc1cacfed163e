"""Background work for analytics (beat). Each task calls one service."""

from celery import shared_task

from .recording import events_flush
from .rollups import DAILY, SECTION_ACTIVITY, events_prune, rollup_run


@shared_task
def flush_events() -> int:
    return events_flush()


@shared_task
def rollup_section_activity() -> int:
    return rollup_run(SECTION_ACTIVITY)


@shared_task
def rollup_daily() -> int:
    return rollup_run(DAILY)


@shared_task
def prune_events() -> int:
    return events_prune()
