"""A viewer's subscription made by the server as it renders a live stall's page
(shows.media.janus.JanusBackend.subscribe_ahead), against a stand-in for Janus's HTTP
API that answers as Janus 1.1 does: session, handle, the join's ack, then VideoRoom's
offer (or its refusal) as an event on the session's long poll."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shows.media import room_name
from shows.media.janus import AHEAD_SECONDS, JanusBackend

ROOM = room_name("01JABCDEFGHJKMNPQRSTVWXYZ0")
SESSION, HANDLE = 1111, 2222
OFFER = {"type": "offer", "sdp": "v=0\r\n"}
NO_SUCH_FEED = {"videoroom": "event", "error_code": 428, "error": "No such feed (seller)"}


class FakeJanus(BaseHTTPRequestHandler):
    """Records every request; `event` is what the session's long poll hands out."""

    requests: list
    event: dict | None
    delay: float

    def do_POST(self):
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, message))
        time.sleep(self.delay)
        if message["janus"] == "create":
            self._reply({"janus": "success", "data": {"id": SESSION}})
        elif message["janus"] == "attach":
            self._reply({"janus": "success", "data": {"id": HANDLE}})
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
    FakeJanus.requests, FakeJanus.delay = [], 0.0
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


def test_the_page_gets_the_session_the_handle_and_the_offer(janus):
    grant = _grant()
    ahead = JanusBackend().subscribe_ahead(grant=grant)
    assert ahead.extra["ahead"] == {
        "session": SESSION,
        "handle": HANDLE,
        "jsep": OFFER,
        "substream": 0,
    }
    # The rest of the grant is the page's as before: its public URL, its own tokens.
    assert {**ahead.extra, "ahead": None} == {**grant.extra, "ahead": None}
    assert ahead.url == "https://video.example.com/janus" and ahead.token == grant.token
    posted = [(path, message) for method, path, message in janus.requests if method == "POST"]
    assert [message["janus"] for _, message in posted] == ["create", "attach", "message"]
    assert {message["token"] for _, message in posted} == {grant.token}
    path, join = posted[2]
    assert path == f"/janus/{SESSION}/{HANDLE}"
    # On the seller's feed, the 480p layer first (the page moves after its first frame).
    assert join["body"] == {
        "request": "join",
        "ptype": "subscriber",
        "room": ROOM,
        "token": grant.extra["room_token"],
        "streams": [{"feed": "seller", "substream": 0}],
    }
    assert janus.requests[-1][0] == "GET" and janus.requests[-1][1].startswith(f"/janus/{SESSION}?")


def test_nobody_publishing_leaves_the_page_to_subscribe_itself(janus):
    """The seller's camera is not on yet: the grant as it was, the session ended."""
    janus.event = {"data": NO_SUCH_FEED}
    grant = _grant()
    assert JanusBackend().subscribe_ahead(grant=grant) == grant
    assert janus.requests[-1][:2] == ("POST", f"/janus/{SESSION}")
    assert janus.requests[-1][2]["janus"] == "destroy"


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
