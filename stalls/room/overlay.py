"""Announcements for what appears over the stall: the show tools (a flash auction,
a giveaway) tell everyone in the room that something started or changed.

The frame is only a nudge (`{"type": "show", "topic": …, "event": …}`): each page
fetches the panel of that topic again, so what it shows is always read from the
database, and a page that missed the frame catches up on its next welcome.

Nothing appears over a stall without an announcement, so that nothing is shown there
is kept (`overlay_shown`) until the stall's next one commits: most stalls, most of the
time, show nothing, and asking cost each stall page two queries.
"""

import json
from collections.abc import Callable
from typing import TypeVar

from bazaar.broadcast import broadcast_on_commit
from bazaar.cache import changed_on_commit, kept_keys, kept_until_changed

from .document import stall_group

T = TypeVar("T")

# A bound for a change made where no service announces it (the admin, a shell).
QUIET_KEPT_SECONDS = 60


def _scope(stall_public_id: str) -> str:
    return f"stage:{stall_public_id}"


def overlay_shown(*, stall_public_id: str, topic: str, read: Callable[[], T | None]) -> T | None:
    """What `topic` shows over the stall, `read()`: read every time while something is
    shown; once nothing is, kept until the stall's next announcement commits. `read`
    must not depend on who asks, and nothing may come to be shown but by an announced
    change (what is shown may end by the clock)."""
    return kept_until_changed(
        scope=_scope(stall_public_id),
        name=topic,
        read=read,
        timeout=QUIET_KEPT_SECONDS,
        keep=lambda shown: shown is None,
    )


def overlay_keys(*, stall_public_id: str, topic: str) -> list[str]:
    """What `overlay_shown` reads from the cache for `topic` (for a page to read ahead)."""
    return kept_keys(_scope(stall_public_id), topic)


def overlay_announce_on_commit(*, stall_public_id: str, topic: str, event: str) -> None:
    """After commit, tell every socket in the stall's room that `topic` changed."""
    frame = json.dumps({"type": "show", "topic": topic, "event": event})
    changed_on_commit(_scope(stall_public_id))
    broadcast_on_commit(stall_group(stall_public_id), {"type": "show.frame", "frame": frame})
