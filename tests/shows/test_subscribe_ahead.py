"""A viewer's subscription made by the server as it renders a live stall's page
(shows.media.janus.JanusBackend.subscribe_ahead), against a stand-in for Janus's HTTP
API that answers as Janus 1.1 does: session, handle, the join's ack, then VideoRoom's
offer (or its refusal) as an event on the session's long poll. Sessions and handles
made ahead by the process (shows.media.janus._HandlesReady) carry the server's own
token; the page's subscription, the viewer's."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shows.media import janus as janus_media
from shows.media import room_name
from shows.media.janus import AHEAD_SECONDS, HANDLES_READY, JanusBackend

ROOM = room_name("01JABCDEFGHJKMNPQRSTVWXYZ0")
SESSION, HANDLE = 1111, 2222  # the first of each; each create and attach makes the next
OFFER = {"type": "offer", "sdp": "v=0\r\n"}
NO_SUCH_FEED = {"videoroom": "event", "error_code": 428, "error": "No such feed (seller)"}


class FakeJanus(BaseHTTPRequestHandler):
    """Records every request; `event` is what the session's long poll hands out."""

    requests: list
    event: dict | None
    delay: float
    made: int
    ended: set

    def do_POST(self):
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, message))
        time.sleep(self.delay)
        session = int(self.path.split("/")[2]) if self.path.count("/") >= 2 else None
        if session in self.ended:
            self._reply({"janus": "error", "error": {"code": 458, "reason": "No such session"}})
        elif message["janus"] == "create":
            type(self).made += 1
            self._reply({"janus": "success", "data": {"id": SESSION + self.made - 1}})
        elif message["janus"] == "attach":
            self._reply({"janus": "success", "data": {"id": HANDLE + session - SESSION}})
        elif message["janus"] == "destroy":
            self.ended.add(session)
            self._reply({"janus": "success"})
        elif message["janus"] == "message":
            self._reply({"janus": "ack"})
        else:
            self._reply({"janus": "success"})

    def do_GET(self):
        self.requests.append(("GET", self.path, None))
        data = dict(self.event or {})
        self._reply(
            [{"janus": "event", "sender": HANDLE, "plugindata": {"data": data.pop("data")}, **data}]
        )

    def _reply(self, body) -> None:
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:  # the client gave up waiting (the slow case)
            return

    def log_message(self, *args):
        return


@pytest.fixture
def janus(settings):
    FakeJanus.requests, FakeJanus.delay, FakeJanus.made, FakeJanus.ended = [], 0.0, 0, set()
    FakeJanus.event = {"data": {"videoroom": "attached"}, "jsep": OFFER}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJanus)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    settings.JANUS_API_URL = f"http://127.0.0.1:{server.server_port}/janus"
    settings.JANUS_PUBLIC_URL = "https://video.example.com/janus"
    yield FakeJanus
    server.shutdown()
    server.server_close()


def _grant():
    return JanusBackend().viewer_grant(room=ROOM, identity="visitor-01V")


def _posted(janus, *, token: str, since: int = 0) -> list[tuple[str, dict]]:
    return [
        (path, message)
        for method, path, message in list(janus.requests)[since:]
        if method == "POST" and message["token"] == token
    ]


def _made_ahead(janus, grant) -> list[tuple[str, dict]]:
    """The requests of the process's ready handles (a token of their own)."""
    return [
        (path, message)
        for method, path, message in list(janus.requests)
        if method == "POST" and message["token"] != grant.token
    ]


def _wait_until(condition, seconds: float = 5.0) -> None:
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "not within the time"
        time.sleep(0.01)


def test_the_page_gets_the_session_the_handle_and_the_offer(janus):
    grant = _grant()
    ahead = JanusBackend().subscribe_ahead(grant=grant)
    posted = _posted(janus, token=grant.token)
    assert [message["janus"] for _, message in posted] == ["create", "attach", "message"]
    session = int(posted[1][0].split("/")[2])
    assert ahead.extra["ahead"] == {
        "session": session,
        "handle": HANDLE + session - SESSION,
        "jsep": OFFER,
        "substream": 0,
    }
    # The rest of the grant is the page's as before: its public URL, its own tokens.
    assert {**ahead.extra, "ahead": None} == {**grant.extra, "ahead": None}
    assert ahead.url == "https://video.example.com/janus" and ahead.token == grant.token
    path, join = posted[2]
    assert path == f"/janus/{session}/{HANDLE + session - SESSION}"
    # On the seller's feed, the 480p layer first (the page moves after its first frame).
    assert join["body"] == {
        "request": "join",
        "ptype": "subscriber",
        "room": ROOM,
        "token": grant.extra["room_token"],
        "streams": [{"feed": "seller", "substream": 0}],
    }
    polled = [path for method, path, _ in janus.requests if method == "GET"]
    assert polled and polled[-1].startswith(f"/janus/{session}?")


def test_the_next_viewer_takes_a_session_and_handle_made_ahead(janus):
    """The first subscription starts the process's ready handles; the next viewer's
    costs Janus the join and its offer only, in a session made ahead, and one more
    is made in its place."""
    backend = JanusBackend()
    first = _grant()
    backend.subscribe_ahead(grant=first)
    _wait_until(lambda: len(_made_ahead(janus, first)) == 2 * HANDLES_READY)
    made = [
        int(path.split("/")[2]) for path, m in _made_ahead(janus, first) if m["janus"] == "attach"
    ]
    grant, since = _grant(), len(janus.requests)
    ahead = backend.subscribe_ahead(grant=grant).extra["ahead"]
    assert ahead["session"] == made[0] and ahead["handle"] == HANDLE + made[0] - SESSION
    posted = _posted(janus, token=grant.token, since=since)
    assert [(path, m["janus"]) for path, m in posted] == [
        (f"/janus/{made[0]}/{HANDLE + made[0] - SESSION}", "message")
    ]
    assert ahead["jsep"] == OFFER
    _wait_until(lambda: len(_made_ahead(janus, first)) == 2 * (HANDLES_READY + 1))


def test_handles_made_ahead_are_kept_alive_and_ended_when_viewers_stop(janus, monkeypatch):
    monkeypatch.setattr(janus_media, "HANDLES_KEEPALIVE_SECONDS", 0.05)
    monkeypatch.setattr(janus_media, "HANDLES_IDLE_SECONDS", 0.5)
    grant = _grant()
    JanusBackend().subscribe_ahead(grant=grant)

    def sent(kind):
        return {path for path, m in _made_ahead(janus, grant) if m["janus"] == kind}

    _wait_until(lambda: len(sent("keepalive")) == HANDLES_READY)
    _wait_until(lambda: sent("destroy") == sent("keepalive"))
    assert len(sent("attach")) == HANDLES_READY


def test_a_session_janus_ended_leaves_the_page_to_subscribe_itself(janus):
    """Janus restarted (or ended a session made ahead): the grant as it was."""
    backend = JanusBackend()
    first = _grant()
    backend.subscribe_ahead(grant=first)
    _wait_until(lambda: len(_made_ahead(janus, first)) == 2 * HANDLES_READY)
    janus.ended.update(range(SESSION, SESSION + janus.made))
    grant = _grant()
    assert backend.subscribe_ahead(grant=grant) == grant


def test_nobody_publishing_leaves_the_page_to_subscribe_itself(janus):
    """The seller's camera is not on yet: the grant as it was, the session ended."""
    janus.event = {"data": NO_SUCH_FEED}
    grant = _grant()
    assert JanusBackend().subscribe_ahead(grant=grant) == grant
    path, last = _posted(janus, token=grant.token)[-1]
    assert last["janus"] == "destroy" and int(path.split("/")[2]) in janus.ended


def test_a_slow_janus_holds_the_page_no_longer_than_the_limit(janus):
    janus.delay = AHEAD_SECONDS  # each request: three of them would take three times that
    grant = _grant()
    began = time.monotonic()
    assert JanusBackend().subscribe_ahead(grant=grant) == grant
    assert time.monotonic() - began < 2 * AHEAD_SECONDS


def test_no_janus_at_all_leaves_the_grant_as_it_was(settings):
    settings.JANUS_TOKEN_SECRET = "janus-secret"
    settings.JANUS_API_URL = "http://127.0.0.1:9/janus"  # nothing listens
    grant = _grant()
    assert JanusBackend().subscribe_ahead(grant=grant) == grant
