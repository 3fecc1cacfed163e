"""Announcements for what appears over the stall: the show tools (a flash auction,
a giveaway) tell everyone in the room that something started or changed.

The frame is only a nudge (`{"type": "show", "topic": …, "event": …}`): each page
fetches the panel of that topic again, so what it shows is always read from the
database, and a page that missed the frame catches up on its next welcome.
"""

import json

from bazaar.broadcast import broadcast_on_commit

from .document import stall_group


def overlay_announce_on_commit(*, stall_public_id: str, topic: str, event: str) -> None:
    """After commit, tell every socket in the stall's room that `topic` changed."""
    frame = json.dumps({"type": "show", "topic": topic, "event": event})
    broadcast_on_commit(stall_group(stall_public_id), {"type": "show.frame", "frame": frame})
