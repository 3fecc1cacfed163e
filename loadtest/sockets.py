"""The sockets of Market Day's Locust users: a page's stall-room or auction socket on
websocket-client, which gevent (Locust's concurrency) makes cooperative.

A socket reads its frames in a greenlet of its own: acknowledgements (`chat_ack`,
`offer_ack`, `bid_ack`, and `error` frames answering a chat) wake whoever waits for
them by their key; other frames go to `on_frame`. Each intent is timed and reported
to Locust as a request of type "WS" (a refusal the server answered is a success of
the socket: the history records what was said).
"""

import contextlib
import json
import time

import gevent
import websocket
from gevent.event import AsyncResult

SYNC_STEP1_EMPTY = bytes([0, 0, 1, 0])  # Yjs sync step 1 with an empty state vector
ACK_TIMEOUT = 30.0
# A join refused, reset, timed out or closed before `welcome`: a failed join, reported.
JOIN_FAILURES = (websocket.WebSocketException, OSError, ValueError)


class PageSocket:
    """One socket as a page holds it: joined (welcome read), a heartbeat, acks by key."""

    def __init__(
        self, environment, url: str, *, origin: str, cookie: str, name: str, sync: bool = False
    ):
        self.environment = environment
        self.name = name
        self.waiting: dict[str, AsyncResult] = {}
        self.on_frame = None
        self.welcome: dict = {}
        started = time.perf_counter()
        self.socket = None
        try:
            self._join(url, origin=origin, cookie=cookie, sync=sync)
        except JOIN_FAILURES as error:
            if self.socket is not None:
                self.socket.shutdown()
            self._report(f"{name} join", started, error)
            raise ConnectionError(f"{name} join: {type(error).__name__}: {error}") from error
        self._report(f"{name} join", started)
        self.reader = gevent.spawn(self._read)
        self.beat = gevent.spawn(self._heartbeat, self.welcome.get("heartbeat_seconds", 15))

    def _join(self, url: str, *, origin: str, cookie: str, sync: bool) -> None:
        """Connect and read up to `welcome` (an `error` frame first is a refusal)."""
        self.socket = websocket.create_connection(
            url, origin=origin, cookie=cookie, timeout=ACK_TIMEOUT, enable_multithread=True
        )
        while True:
            raw = self.socket.recv()
            if not raw:
                raise ConnectionError("closed before its welcome")
            frame = json.loads(raw) if isinstance(raw, str) else {}
            if frame.get("type") == "welcome":
                self.welcome = frame
                break
            if frame.get("type") == "error":
                raise ConnectionError(f"refused: {frame.get('code')}")
        if sync:  # the stall page asks for the document, as it does after each welcome
            self.socket.send_binary(SYNC_STEP1_EMPTY)

    def _report(self, name: str, started: float, error: Exception | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _read(self) -> None:
        try:
            while True:
                raw = self.socket.recv()
                if not isinstance(raw, str) or not raw:
                    continue
                frame = json.loads(raw)
                for one in frame["frames"] if frame.get("type") == "batch" else [frame]:
                    self._dispatch(one)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            for waiter in self.waiting.values():
                if not waiter.ready():
                    waiter.set_exception(ConnectionError("the socket closed"))

    def _dispatch(self, frame: dict) -> None:
        kind = frame.get("type")
        key = frame.get("key") if kind in ("offer_ack", "bid_ack") else frame.get("client_id")
        waiter = self.waiting.pop(key, None) if key else None
        if waiter is not None and kind in ("offer_ack", "bid_ack", "chat_ack", "error"):
            waiter.set(frame)
        elif self.on_frame is not None:
            self.on_frame(frame)

    def _heartbeat(self, seconds: float) -> None:
        while True:
            gevent.sleep(seconds)
            try:
                self.socket.send('{"type": "ping"}')
            except (websocket.WebSocketException, OSError):
                return

    def ask(self, name: str, frame: dict, key: str) -> dict | None:
        """Send `frame`, wait for the acknowledgement carrying `key`; None if it never
        came (reported as a failure)."""
        waiter = AsyncResult()
        self.waiting[key] = waiter
        started = time.perf_counter()
        try:
            self.socket.send(json.dumps(frame))
            answer = waiter.get(timeout=ACK_TIMEOUT)
        except (gevent.Timeout, ConnectionError, OSError, websocket.WebSocketException) as error:
            self.waiting.pop(key, None)
            self._report(name, started, error if str(error) else TimeoutError("no ack"))
            return None
        self._report(name, started)
        return answer

    def close(self) -> None:
        self.beat.kill(block=False)
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.socket.close(timeout=1)
        self.reader.kill(block=False)
