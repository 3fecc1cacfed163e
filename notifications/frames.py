"""What the notices socket (`/ws/notices/`) carries: one person's bell, on each of
their open pages."""

from .models import Notice


def notice_group(user_public_id: str) -> str:
    """The sockets of one person's bell. Not `bazaar.broadcast.user_group`: the stall
    room's sockets join that one for chat and offer frames this socket has no use for."""
    return f"notices.{user_public_id}"


def new_notice_frame(notice: Notice, *, unread: int) -> dict:
    """A notice arrived: the bell's new count, and what to announce."""
    return {
        "type": "notice",
        "unread": unread,
        "notice": {
            "id": notice.public_id,
            "kind": notice.kind,
            "title": notice.title,
            "url": notice.url,
        },
    }


def unread_frame(*, unread: int) -> dict:
    """The count changed without news (read on another page): update, announce nothing."""
    return {"type": "unread", "unread": unread}
