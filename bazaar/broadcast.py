"""Publishing to sockets happens after commit: a rolled-back change is never announced."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def broadcast_on_commit(group: str, event: dict) -> None:
    """Send `event` to every socket in `group` once the current transaction commits."""

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(group, event)

    transaction.on_commit(send)


def user_group(user_public_id: str) -> str:
    """Every socket of one user, for what only they may see (held messages, sanctions)."""
    return f"user.{user_public_id}"
