"""The grants both backends give: decoded claims (grants, TTL, identity, room)."""

import base64
import hashlib
import hmac
import time

import jwt
import pytest

from shows.media import room_name
from shows.media.janus import JanusBackend, room_token, session_token, token_secret
from shows.media.livekit import LiveKitBackend

from .conftest import LIVEKIT

ROOM = room_name("01JABCDEFGHJKMNPQRSTVWXYZ0")


def _decode(token: str) -> dict:
    return jwt.decode(
        token,
        LIVEKIT["LIVEKIT_API_SECRET"],
        algorithms=["HS256"],
        issuer=LIVEKIT["LIVEKIT_API_KEY"],
    )


def test_room_is_named_from_the_stall_ulid():
    assert ROOM == "stall-01jabcdefghjkmnpqrstvwxyz0"


@pytest.fixture
def livekit(settings):
    for name, value in LIVEKIT.items():
        setattr(settings, name, value)
    return LiveKitBackend()


def test_livekit_seller_token_publishes_camera_and_microphone_for_12_hours(livekit):
    grant = livekit.publisher_grant(room=ROOM, identity="01SELLER", name="Stall")
    claims = _decode(grant.token)
    video = claims["video"]
    assert claims["sub"] == "01SELLER"
    assert video["room"] == ROOM and video["roomJoin"] is True
    assert video["canPublish"] is True
    assert video["canPublishSources"] == ["camera", "microphone"]
    assert video["canSubscribe"] is False and video["canPublishData"] is False
    assert "hidden" not in video
    assert claims["exp"] - claims["nbf"] == pytest.approx(12 * 3600, abs=5)
    assert grant.backend == "livekit" and grant.url == LIVEKIT["LIVEKIT_URL"]


def test_livekit_viewer_token_subscribes_only_hidden_and_short(livekit):
    grant = livekit.viewer_grant(room=ROOM, identity="visitor-01V")
    claims = _decode(grant.token)
    video = claims["video"]
    assert claims["sub"] == "visitor-01V"
    assert video["room"] == ROOM
    assert video["canPublish"] is False and video["canSubscribe"] is True
    assert video["hidden"] is True
    assert video["canPublishData"] is False
    assert claims["exp"] - claims["nbf"] <= 15 * 60


def test_livekit_token_signed_with_another_secret_is_refused(livekit):
    grant = livekit.viewer_grant(room=ROOM, identity="v")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(grant.token, "another-secret-that-is-long-enough-0123456789", ["HS256"])


def _janus_parts(token: str) -> tuple[list[str], str]:
    data, signature = token.split(":")
    return data.split(","), signature


def _signed_by(token: str, secret: bytes) -> bool:
    data, signature = token.split(":")
    expected = hmac.new(secret, data.encode(), hashlib.sha1).digest()
    return base64.b64decode(signature) == expected


def test_janus_session_token_opens_the_videoroom_plugin_only(settings):
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    now = time.time()
    token = session_token(ttl_seconds=600, now=now)
    fields, _ = _janus_parts(token)
    assert fields == [str(int(now + 600)), "janus", "janus.plugin.videoroom"]
    assert _signed_by(token, b"janus-secret")


def test_janus_room_token_opens_one_room(settings):
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    now = time.time()
    token = room_token(room=ROOM, ttl_seconds=600, now=now)
    fields, _ = _janus_parts(token)
    assert fields == [str(int(now + 600)), "janus.plugin.videoroom", f"room={ROOM}"]
    assert _signed_by(token, b"janus-secret")
    assert not _signed_by(token, b"another-secret")


def test_janus_viewer_grant_needs_no_server_and_cannot_publish(settings):
    """A viewer's room token is never added to the room's allowed list (only that list
    may publish): the grant is signed locally, with no call to Janus at all."""
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    settings.JANUS_API_URL = "http://127.0.0.1:9/janus"  # nothing listens: a call would fail
    grant = JanusBackend().viewer_grant(room=ROOM, identity="visitor-01V")
    fields, _ = _janus_parts(grant.extra["room_token"])
    assert grant.role == "viewer" and grant.backend == "janus"
    assert fields[2] == f"room={ROOM}"
    assert int(fields[0]) - time.time() == pytest.approx(4 * 3600, abs=5)
    assert _janus_parts(grant.token)[0][1:] == ["janus", "janus.plugin.videoroom"]


def test_janus_seller_room_token_is_added_to_the_rooms_publishers(settings, monkeypatch):
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    asked = []
    monkeypatch.setattr(JanusBackend, "_request", lambda self, **kw: asked.append(kw) or {})
    grant = JanusBackend().publisher_grant(room=ROOM, identity="01SELLER", name="Stall")
    allowed = grant.extra["room_token"]
    assert asked == [
        {"room": ROOM, "body": {"request": "allowed", "action": "add", "allowed": [allowed]}}
    ]
    fields, _ = _janus_parts(allowed)
    assert int(fields[0]) - time.time() == pytest.approx(12 * 3600, abs=5)
    assert grant.identity == "01SELLER" and grant.role == "publisher"


def test_janus_viewers_are_told_the_feed_the_seller_publishes_under(settings, monkeypatch):
    """A viewer joins the seller's feed straight away (no asking the room first)."""
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    monkeypatch.setattr(JanusBackend, "_request", lambda self, **kw: {})
    seller = JanusBackend().publisher_grant(room=ROOM, identity="01SELLER", name="Stall")
    viewer = JanusBackend().viewer_grant(room=ROOM, identity="visitor-01V")
    assert seller.extra["feed"] == viewer.extra["feed"] != ""


def test_janus_secret_is_derived_from_the_secret_key_when_unset(settings):
    settings.JANUS_TOKEN_SECRET = ""
    first = token_secret()
    settings.SECRET_KEY = "another-secret-key-for-this-test-0123456789abcdef"
    assert token_secret() != first and len(first) == 64
