"""A recording media backend for the services' tests, and LiveKit settings."""

import pytest

from shows import media
from shows.media import Grant, MediaUnavailable

LIVEKIT = {
    "SHOWS_MEDIA": "livekit",
    "LIVEKIT_URL": "wss://live.example.com",
    "LIVEKIT_API_KEY": "APIkey123",
    "LIVEKIT_API_SECRET": "a-very-long-livekit-api-secret-for-tests-0123456789",
}


class RecordingBackend:
    """Answers like a media server and records what it was asked, in order."""

    name = "janus"

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def _call(self, what: str, room: str) -> None:
        if self.down:
            raise MediaUnavailable("down")
        self.calls.append((what, room))

    def room_ensure(self, *, room):
        self._call("ensure", room)

    def room_end(self, *, room):
        self._call("end", room)

    def publisher_grant(self, *, room, identity, name):
        self._call("publisher", room)
        return Grant("janus", "publisher", "http://janus", room, identity, "t", 60)

    def viewer_grant(self, *, room, identity):
        self._call("viewer", room)
        return Grant("janus", "viewer", "http://janus", room, identity, "t", 60)

    def subscribe_ahead(self, *, grant):
        self._call("ahead", grant.room)
        return grant


@pytest.fixture
def media_server(monkeypatch, settings):
    settings.SHOWS_MEDIA = "janus"
    recording = RecordingBackend()
    monkeypatch.setattr(media, "backend", lambda: recording)
    return recording
