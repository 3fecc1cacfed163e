"""Janus (Debian's `janus`): the VideoRoom plugin forwards VP8 simulcast without decoding.

Access is by Janus's signed tokens (`token_auth_secret` in the core, `signed_tokens`
in each room), each an expiry, a realm and descriptors signed with HMAC-SHA1. A grant
carries two: the session token (realm "janus", the VideoRoom plugin), which janus.js
sends with every request, and the room token (realm "janus.plugin.videoroom",
"room=<name>"), sent when joining. Every room token opens the room to watch; only one
on the room's `allowed` list may publish there (VideoRoom checks that list for
publishers only), and the seller's is the only one ever added. Janus checks the
session token on every request, keepalives included, so it lives as long as a visit
may.

Rooms are made and ended through Janus's HTTP API with the room's secret, derived
from settings so nothing about a room needs storing.
"""

import base64
import functools
import hashlib
import hmac
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from secrets import token_hex

from django.conf import settings

from .base import Grant, MediaUnavailable

PLUGIN = "janus.plugin.videoroom"
SELLER_TTL_SECONDS = 12 * 3600
VIEWER_TTL_SECONDS = 4 * 3600
SERVER_TTL_SECONDS = 60
# VideoRoom's error codes we expect and treat as done.
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
HTTP_TIMEOUT = 5.0
# The most a page's render waits for the viewer's subscription made ahead; past it the
# page subscribes itself, as it would have.
AHEAD_SECONDS = 0.5
# VideoRoom's simulcast substreams: 0 is the 480p layer, 1 the high one.
LOW_SUBSTREAM = 0
# The id the seller publishes under (a room has one publisher), so a viewer joins it
# straight away instead of first asking the room who publishes.
PUBLISHER_FEED = "seller"


def token_secret() -> str:
    """JANUS_TOKEN_SECRET, or one derived from SECRET_KEY so a fresh checkout works."""
    if settings.JANUS_TOKEN_SECRET:
        return settings.JANUS_TOKEN_SECRET
    return hmac.new(settings.SECRET_KEY.encode(), b"janus-tokens", hashlib.sha256).hexdigest()


def _sign(fields: list[str], ttl_seconds: int, now: float | None) -> str:
    data = ",".join([str(int((now or time.time()) + ttl_seconds)), *fields])
    digest = hmac.new(token_secret().encode(), data.encode(), hashlib.sha1)
    return f"{data}:{base64.b64encode(digest.digest()).decode()}"


def session_token(*, ttl_seconds: int, now: float | None = None) -> str:
    """Opens a Janus session and lets it attach to the VideoRoom plugin only."""
    return _sign(["janus", PLUGIN], ttl_seconds, now)


def room_token(*, room: str, ttl_seconds: int, now: float | None = None) -> str:
    """Opens one room (to watch; to publish too once on the room's allowed list)."""
    return _sign([PLUGIN, f"room={room}"], ttl_seconds, now)


def room_secret(room: str) -> str:
    return hmac.new(
        token_secret().encode(), f"room-secret:{room}".encode(), hashlib.sha256
    ).hexdigest()


class JanusBackend:
    name = "janus"

    def publisher_grant(self, *, room: str, identity: str, name: str) -> Grant:
        grant = self._grant("publisher", room, identity, SELLER_TTL_SECONDS, name)
        allowed = [grant.extra["room_token"]]
        self._request(room=room, body={"request": "allowed", "action": "add", "allowed": allowed})
        return grant

    def viewer_grant(self, *, room: str, identity: str) -> Grant:
        return self._grant("viewer", room, identity, VIEWER_TTL_SECONDS, "")

    def _grant(self, role, room, identity, ttl, name) -> Grant:
        return Grant(
            backend=self.name,
            role=role,
            url=settings.JANUS_PUBLIC_URL,
            room=room,
            identity=identity,
            token=session_token(ttl_seconds=ttl),
            ttl_seconds=ttl,
            extra={
                "room_token": room_token(room=room, ttl_seconds=ttl),
                "display": name,
                "feed": PUBLISHER_FEED,
            },
        )

    def subscribe_ahead(self, *, grant: Grant) -> Grant:
        """The page's viewer subscribed while the server renders the page: Janus's session,
        the VideoRoom handle and its offer go in the grant (`extra["ahead"]`), so the
        page's first step is its answer. Made by the page, those are three requests and a
        long poll, each answer waiting for the page's busy main thread; here they are a
        few milliseconds on loopback. It joins on the 480p layer, whose keyframe is the
        smallest and soonest in; the page moves to the layer its player wants once its
        first frame shows (the server cannot know the player's size). The page's long
        poll keeps the session alive (Janus ends an unused one after its
        session_timeout). The grant as it was when Janus does not answer within
        AHEAD_SECONDS or nobody publishes yet: the page then subscribes itself."""
        deadline = time.monotonic() + AHEAD_SECONDS
        try:
            created = _post(
                settings.JANUS_API_URL, {"janus": "create", "token": grant.token}, deadline
            )
            base = f"{settings.JANUS_API_URL}/{created['data']['id']}"
            attached = _post(
                base, {"janus": "attach", "plugin": PLUGIN, "token": grant.token}, deadline
            )
            join = {
                "request": "join",
                "ptype": "subscriber",
                "room": grant.room,
                "token": grant.extra["room_token"],
                "streams": [{"feed": grant.extra["feed"], "substream": LOW_SUBSTREAM}],
            }
            handle = attached["data"]["id"]
            _post(
                f"{base}/{handle}",
                {"janus": "message", "body": join, "token": grant.token},
                deadline,
            )
            offer = _offer(base, grant.token, deadline)
        except MediaUnavailable:
            return grant  # slow or away: a session it made ends by Janus's session_timeout
        if offer is None:
            _destroy_quietly(base, grant.token)
            return grant
        ahead = {
            "session": created["data"]["id"],
            "handle": handle,
            "jsep": offer,
            "substream": LOW_SUBSTREAM,
        }
        return replace(grant, extra={**grant.extra, "ahead": ahead})

    def room_ensure(self, *, room: str) -> None:
        self._request(
            room=room,
            body={
                "request": "create",
                "description": room,
                "is_private": True,
                "publishers": 1,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "signed_tokens": True,
                "allowed": [],
                "notify_joining": False,
            },
            ok_codes={ROOM_EXISTS},
        )

    def room_end(self, *, room: str) -> None:
        self._request(room=room, body={"request": "destroy"}, ok_codes={NO_SUCH_ROOM})

    def _request(self, *, room: str, body: dict, ok_codes: frozenset | set = frozenset()) -> dict:
        """One synchronous VideoRoom request in a session of its own."""
        token = session_token(ttl_seconds=SERVER_TTL_SECONDS)
        session = _post(settings.JANUS_API_URL, {"janus": "create", "token": token})["data"]["id"]
        base = f"{settings.JANUS_API_URL}/{session}"
        try:
            handle = _post(base, {"janus": "attach", "plugin": PLUGIN, "token": token})["data"][
                "id"
            ]
            message = {**body, "room": room, "secret": room_secret(room)}
            if body["request"] == "create":
                message["permanent"] = False
            reply = _post(f"{base}/{handle}", {"janus": "message", "body": message, "token": token})
        finally:
            _post(base, {"janus": "destroy", "token": token})
        data = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data and data["error_code"] not in ok_codes:
            raise MediaUnavailable(f"Janus refused {body['request']}: {data.get('error')}")
        return data


def _post(url: str, message: dict, deadline: float | None = None) -> dict:
    payload = json.dumps({**message, "transaction": token_hex(8)}).encode()
    request = urllib.request.Request(  # noqa: S310 - our own configured URL
        url, data=payload, headers={"Content-Type": "application/json"}
    )
    return _answer(request, deadline)


def _answer(request: urllib.request.Request, deadline: float | None) -> dict:
    """Janus's JSON answer to `request`, by `deadline` (monotonic) or HTTP_TIMEOUT."""
    timeout = HTTP_TIMEOUT if deadline is None else deadline - time.monotonic()
    try:
        if timeout <= 0:
            raise TimeoutError("out of time")
        context = _verified_by(settings.JANUS_API_CA) if settings.JANUS_API_CA else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            reply = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise MediaUnavailable(f"Janus is unreachable at {request.full_url}: {error}") from error
    if isinstance(reply, dict) and reply.get("janus") == "error":
        raise MediaUnavailable(f"Janus refused: {reply['error'].get('reason')}")
    return reply


@functools.cache
def _verified_by(ca_file: str) -> ssl.SSLContext:
    """TLS to Janus that trusts only the deployment's own CA (made once per process)."""
    return ssl.create_default_context(cafile=ca_file)


def _offer(session_url: str, token: str, deadline: float) -> dict | None:
    """VideoRoom's offer to a subscriber that just joined, from the session's events
    (a long poll, as a page makes); None when the join was refused (nobody publishes)."""
    query = urllib.parse.urlencode({"maxev": 1, "token": token})
    while True:
        events = _answer(urllib.request.Request(f"{session_url}?{query}"), deadline)  # noqa: S310
        for event in events if isinstance(events, list) else [events]:
            if event.get("plugindata", {}).get("data", {}).get("error_code"):
                return None
            if event.get("jsep", {}).get("type") == "offer":
                return event["jsep"]


def _destroy_quietly(session_url: str, token: str) -> None:
    try:
        _post(session_url, {"janus": "destroy", "token": token}, time.monotonic() + AHEAD_SECONDS)
    except MediaUnavailable:
        return
