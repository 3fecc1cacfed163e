"""Background work for shows. Each task calls one service or one media call."""

import logging

from celery import shared_task

from . import media
from .media import MediaUnavailable
from .services import shows_end_lost as _shows_end_lost

log = logging.getLogger(__name__)


@shared_task
def shows_end_lost() -> int:
    return _shows_end_lost()


@shared_task(autoretry_for=(MediaUnavailable,), retry_backoff=True, max_retries=5)
def room_end(*, backend: str, room: str) -> None:
    """Close the media server's room after the show ended (after commit, no lock held)."""
    current = media.backend()
    if current is None or current.name != backend:
        log.info("room_end: %s backend is not configured here; %s left to expire", backend, room)
        return
    current.room_end(room=room)
