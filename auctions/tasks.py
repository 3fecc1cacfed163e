"""Background work for auctions. Each task calls one service."""

from celery import shared_task

from .services import auctions_sweep


@shared_task
def sweep_auctions() -> dict[str, int]:
    """Beat, every second: open, close, charge and expire what is due (see the service)."""
    return auctions_sweep()
