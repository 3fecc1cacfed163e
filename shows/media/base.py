"""The media interface both backends implement (shows.media), and what they hand the
page; apart from the backends' selection so that they can import it."""

from dataclasses import asdict, dataclass, field
from typing import Protocol


class MediaUnavailable(Exception):
    """The media server could not be reached or refused; the show cannot start."""


@dataclass(frozen=True)
class Grant:
    """What a page needs to join a room, as the token endpoint returns it."""

    backend: str
    role: str  # "publisher" or "viewer"
    url: str
    room: str
    identity: str
    token: str
    ttl_seconds: int
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return asdict(self)


class MediaBackend(Protocol):
    name: str

    def room_ensure(self, *, room: str) -> None: ...

    def room_end(self, *, room: str) -> None: ...

    def publisher_grant(self, *, room: str, identity: str, name: str) -> Grant: ...

    def viewer_grant(self, *, room: str, identity: str) -> Grant: ...

    def subscribe_ahead(self, *, grant: Grant) -> Grant:
        """A viewer's grant for a page, with what the server could do of the page's
        subscribing while it renders the page."""
        ...


def room_name(stall_public_id: str) -> str:
    """A stall's room, named from its ULID: stable across shows, unique per stall."""
    return f"stall-{stall_public_id.lower()}"


HOW_TO_ENABLE = (
    "Live video is not set up on this market. To enable it, install Janus "
    "(apt-get install janus) and restart with make run, or set LIVEKIT_URL, "
    "LIVEKIT_API_KEY and LIVEKIT_API_SECRET."
)
