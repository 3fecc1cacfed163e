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
import contextlib
import functools
import hashlib
import hmac
import json
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
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
# Sessions with a VideoRoom handle kept ready in each server process, so a viewer's
# subscription made ahead is the join and its offer (two requests to Janus, not four):
# at most this many, kept alive this often (Janus ends a session silent for its
# session_timeout, 60 s), for as long as viewers keep coming.
HANDLES_READY = 2
HANDLES_KEEPALIVE_SECONDS = 20.0
HANDLES_IDLE_SECONDS = 600.0
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

    def __init__(self) -> None:
        self._handles: dict[str, _HandlesReady] = {}
        self._handles_lock = threading.Lock()

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
        AHEAD_SECONDS or nobody publishes yet: the page then subscribes itself. The
        session and its handle come ready-made when this process holds one
        (_HandlesReady): the join and its offer are then the only requests, and under
        load each request waits for a core, Janus's threads as much as ours."""
        deadline = time.monotonic() + AHEAD_SECONDS
        try:
            session, handle = self._handles_ready().take() or _session_with_handle(
                grant.token, deadline
            )
            base = f"{settings.JANUS_API_URL}/{session}"
            join = {
                "request": "join",
                "ptype": "subscriber",
                "room": grant.room,
                "token": grant.extra["room_token"],
                "streams": [{"feed": grant.extra["feed"], "substream": LOW_SUBSTREAM}],
            }
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
            "session": session,
            "handle": handle,
            "jsep": offer,
            "substream": LOW_SUBSTREAM,
        }
        return replace(grant, extra={**grant.extra, "ahead": ahead})

    def _handles_ready(self) -> "_HandlesReady":
        """This process's ready handles on the configured Janus (made at the first use)."""
        url = settings.JANUS_API_URL
        with self._handles_lock:
            if url not in self._handles:
                self._handles[url] = _HandlesReady(url)
            return self._handles[url]

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


def _session_with_handle(token: str, deadline: float, url: str | None = None) -> tuple[int, int]:
    """A new Janus session and a VideoRoom handle in it: (session id, handle id)."""
    url = url or settings.JANUS_API_URL
    session = _post(url, {"janus": "create", "token": token}, deadline)["data"]["id"]
    attached = _post(
        f"{url}/{session}", {"janus": "attach", "plugin": PLUGIN, "token": token}, deadline
    )
    return session, attached["data"]["id"]


class _HandlesReady:
    """Up to HANDLES_READY sessions of Janus at `url`, each with a VideoRoom handle not
    yet joined to any room (so any stall's viewer can take one), made and kept alive by
    a thread of their own while viewers keep coming: taking one costs no request. The
    thread starts at the first take, refills after each, and stops (ending what it
    holds) after HANDLES_IDLE_SECONDS without a take or when Janus does not answer; the
    next take starts it again. Janus checks each request's own signed token, not the
    session's maker's, so the page goes on with its own."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._ready: deque[tuple[int, int]] = deque()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._keeper: threading.Thread | None = None
        self._last_taken = 0.0

    def take(self) -> tuple[int, int] | None:
        with self._lock:
            taken = self._ready.popleft() if self._ready else None
            self._last_taken = time.monotonic()
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep, daemon=True, name="janus-handles"
                )
                self._keeper.start()
        self._wanted.set()
        return taken

    def _keep(self) -> None:
        try:
            with contextlib.suppress(MediaUnavailable):  # Janus away: the next take restarts
                while time.monotonic() - self._last_taken < HANDLES_IDLE_SECONDS:
                    self._wanted.clear()  # before filling: a take meanwhile fills again
                    self._fill()
                    if not self._wanted.wait(HANDLES_KEEPALIVE_SECONDS):
                        self._keep_alive()
        finally:
            with self._lock:
                ending, self._keeper = list(self._ready), None
                self._ready.clear()
            for session, _handle in ending:
                _destroy_quietly(f"{self._url}/{session}", _server_token())

    def _fill(self) -> None:
        while len(self._ready) < HANDLES_READY:
            made = _session_with_handle(
                _server_token(), time.monotonic() + HTTP_TIMEOUT, url=self._url
            )
            with self._lock:
                self._ready.append(made)

    def _keep_alive(self) -> None:
        """One keepalive to each session held; one Janus has ended is dropped."""
        for made in list(self._ready):
            try:
                _post(f"{self._url}/{made[0]}", {"janus": "keepalive", "token": _server_token()})
            except MediaUnavailable:
                with self._lock:
                    if made in self._ready:
                        self._ready.remove(made)


def _server_token() -> str:
    return session_token(ttl_seconds=SERVER_TTL_SECONDS)
