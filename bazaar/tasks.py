"""Background work the project itself does (not one app's)."""

from celery import shared_task

from .broadcast import broadcast_now


@shared_task
def broadcast_relay(group: str, event: dict) -> None:
    """A broadcast made outside the embedded market's web process (a management
    command), delivered from inside it, where the open pages' sockets are."""
    broadcast_now(group, event)
