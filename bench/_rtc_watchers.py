"""Watchers without a browser: N real WebRTC subscribers of a stall's show on Janus, each
decoding the 480p layer (aiortc: VP8 through libvpx, by PyAV), all in one Python process.

bench/video.py runs this module as a process of its own to stand for "the others
watching" at the cost of a decoder, not of a browser each: on this 2-core machine 20
chromium renderers decoding and compositing video take both cores, which no shopper's
first frame has to share with anybody's device. Each watcher enters as a page does: it
reads the stall page (a browser's navigation, so the server subscribes it ahead and the
page's grant carries Janus's offer; without one it creates the session, attaches and
joins the seller's feed itself, on substream 0, the 480p layer a phone's player asks
for), answers, starts, then keeps its session alive with the page's long poll and beats
the show's "watching" endpoint as the stage does, so the servers see what they see of a
watching page (not its stall-room socket, which idles while nobody chats).

    python -m bench._rtc_watchers STALL_URL COUNT

Prints one JSON line once every watcher has a first decoded frame, or after
--ready-seconds: {"ready": [...]} (each watcher's state). Then each line read on stdin
("stats") is answered with one JSON line {"watchers": [...]}: per watcher, the video
frames decoded so far, the last frame's height and its connection state. End of input
closes every connection and destroys the Janus sessions.
"""

import argparse
import asyncio
import html
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

PLUGIN = "janus.plugin.videoroom"
LOW_SUBSTREAM = 0  # VideoRoom's simulcast substream 0: the 480p layer
BEAT_SECONDS = 10.0  # the stage's heartbeat (data-heartbeat-seconds)
LONG_POLL_SECONDS = 30  # Janus answers a long poll within this, events or not
SUBSCRIBE_SECONDS = 20.0  # from the page's request to Janus's ack of the answer
_GRANT = re.compile(r'<script id="show-grant" type="application/json">(.*?)</script>', re.S)
_CSRF = re.compile(r"hx-headers=\'(\{.*?\})\'")
_SHOW = re.compile(r'data-live-video[^>]*?data-show="([^"]+)"')
_WATCHING_URL = re.compile(r'data-watching-url="([^"]+)"')
# A browser's own navigation: the server subscribes ahead only for these.
NAVIGATION = {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


class Refused(Exception):
    """Janus or the page said no (nobody publishes, a bad token, no grant)."""


def page_facts(page: str) -> dict:
    """What a watcher needs from the stall page: the grant, the CSRF token, the show's id
    and its "watching" URL (a template with a placeholder id, as the stage reads it)."""
    grant = _GRANT.search(page)
    if grant is None:
        raise Refused("the stall page carries no grant (no live show on the Janus backend?)")
    csrf = _CSRF.search(page)
    show = _SHOW.search(page)
    watching = _WATCHING_URL.search(page)
    return {
        "grant": json.loads(grant.group(1)),
        "csrf": json.loads(html.unescape(csrf.group(1)))["X-CSRFToken"] if csrf else "",
        "show": show.group(1) if show else "",
        "watching_url": html.unescape(watching.group(1)) if watching else "",
    }


class Watcher:
    """One subscriber: its own cookies (a visitor of its own), Janus session and peer
    connection; counts the video frames its decoder hands back."""

    def __init__(self, stall_url: str, *, ahead: bool = True) -> None:
        self.stall_url = stall_url
        # As a browser's navigation (the server subscribes it ahead), or as any other
        # request (the page's own subscribing: what a page does when the server's was late).
        self.headers = NAVIGATION if ahead else {"Accept": "text/html"}
        self.frames = 0
        self.height = 0
        self.first_frame_at: float | None = None
        self.error = ""
        self.step = "not yet"
        self.pc: RTCPeerConnection | None = None
        self.session_url = ""
        self.token = ""
        self.events: asyncio.Queue = asyncio.Queue()
        self.tasks: list[asyncio.Task] = []
        self.http: aiohttp.ClientSession | None = None

    def state(self) -> dict:
        return {
            "frames": self.frames,
            "height": self.height,
            "connection": self.pc.connectionState if self.pc else "none",
            "error": self.error,
        }

    async def start(self) -> None:
        """Subscribed, or an error saying where it stopped: one watcher that never gets
        an answer must not hold up the others (seen once on a busy machine, not traced)."""
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=LONG_POLL_SECONDS + 10),
        )
        try:
            await asyncio.wait_for(self._subscribe(), SUBSCRIBE_SECONDS)
        except (TimeoutError, Refused, aiohttp.ClientError, KeyError, ValueError) as error:
            self.error = f"{type(error).__name__} at {self.step}: {error}"

    async def _subscribe(self) -> None:
        self.step = "page"
        async with self.http.get(self.stall_url, headers=self.headers) as response:
            facts = page_facts(await response.text())
        grant = facts["grant"]
        self.token = grant["token"]
        ahead = grant.get("extra", {}).get("ahead")
        if ahead:
            self.session_url = f"{grant['url']}/{ahead['session']}"
            handle_url = f"{self.session_url}/{ahead['handle']}"
            self.tasks.append(asyncio.create_task(self._poll()))
            offer = ahead["jsep"]
        else:
            created = await self._send(grant["url"], {"janus": "create"})
            self.session_url = f"{grant['url']}/{created['data']['id']}"
            self.tasks.append(asyncio.create_task(self._poll()))
            attached = await self._send(self.session_url, {"janus": "attach", "plugin": PLUGIN})
            handle_url = f"{self.session_url}/{attached['data']['id']}"
            stream = {"feed": grant["extra"]["feed"], "substream": LOW_SUBSTREAM}
            join = {
                "request": "join",
                "ptype": "subscriber",
                "room": grant["room"],
                "token": grant["extra"]["room_token"],
                "streams": [stream],
            }
            await self._send(handle_url, {"janus": "message", "body": join})
            self.step = "offer"
            offer = await self._offer()
        # Host candidates only, as the page's client: no STUN server (aiortc's default
        # is a public one, which nothing here may reach or needs).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.on("track", self._on_track)
        self.step = "answer"
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = {"type": "answer", "sdp": self.pc.localDescription.sdp}
        body = {"janus": "message", "body": {"request": "start"}, "jsep": answer}
        self.step = "start"
        await self._send(handle_url, body)
        self.step = "started"
        if facts["show"] and facts["watching_url"]:
            path = facts["watching_url"].replace("0" * 26, facts["show"])
            watching = urllib.parse.urljoin(self.stall_url, path)
            self.tasks.append(asyncio.create_task(self._beat(watching, facts["csrf"])))

    def _on_track(self, track) -> None:
        self.tasks.append(asyncio.create_task(self._drain(track)))

    async def _send(self, url: str, message: dict) -> dict:
        payload = {**message, "transaction": secrets.token_hex(8), "token": self.token}
        async with self.http.post(url, data=json.dumps(payload)) as response:
            reply = json.loads(await response.text())
        if reply.get("janus") == "error":
            raise Refused(reply["error"].get("reason", "Janus refused"))
        return reply

    async def _poll(self) -> None:
        """Janus's events for the session, one long poll after another (also its keepalive)."""
        while True:
            query = {"maxev": "10", "rid": str(time.time_ns()), "token": self.token}
            try:
                async with self.http.get(self.session_url, params=query) as response:
                    events = json.loads(await response.text())
            except TimeoutError:
                continue  # the machine too busy for one answer: ask again, as a page would
            except (aiohttp.ClientError, ValueError) as error:
                self.error = f"long poll: {error}"
                return
            for event in events if isinstance(events, list) else [events]:
                await self.events.put(event)

    async def _offer(self) -> dict:
        while True:
            event = await self.events.get()
            data = event.get("plugindata", {}).get("data", {})
            if data.get("error"):
                raise Refused(data["error"])
            if event.get("jsep", {}).get("type") == "offer":
                return event["jsep"]

    async def _drain(self, track) -> None:
        """Take every frame the decoder hands back (unread, they would queue forever)."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                self.frames += 1
                self.height = frame.height
                if self.first_frame_at is None:
                    self.first_frame_at = time.monotonic()

    async def _beat(self, url: str, csrf: str) -> None:
        """The stage's heartbeat: this viewer is counted as watching."""
        headers = {"X-CSRFToken": csrf, "Referer": self.stall_url}
        while True:
            try:
                async with self.http.post(url, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        self.error = f"heartbeat: HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                self.error = f"heartbeat: {type(error).__name__} {error}"
            await asyncio.sleep(BEAT_SECONDS)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.session_url:
            with suppress(Refused, aiohttp.ClientError, ValueError):
                await self._send(self.session_url, {"janus": "destroy"})
        await self.http.close()


async def _lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def watch(
    stall_url: str, count: int, ready_seconds: float, every: float, ahead: bool
) -> None:
    watchers = [Watcher(stall_url, ahead=ahead) for _ in range(count)]
    for watcher in watchers:  # one after another, as people arrive: not a burst
        await watcher.start()
        await asyncio.sleep(every)
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline and any(
        w.first_frame_at is None and not w.error for w in watchers
    ):
        await asyncio.sleep(0.1)
    _say({"ready": [w.state() for w in watchers]})
    reader = await _lines()
    while await reader.readline():
        _say({"watchers": [w.state() for w in watchers]})
    await asyncio.gather(*(w.stop() for w in watchers))


@contextmanager
def watching(
    stall_url: str, count: int, *, ready_seconds: float = 30.0, ahead: bool = True
) -> Iterator[dict]:
    """`count` watchers in a process of their own, once each has decoded a frame (or the
    wait is over): yields {"pid", "ready": [state...], "states": a function answering
    every watcher's state now}. Ends them as it leaves."""
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench._rtc_watchers",
            stall_url,
            str(count),
            "--ready-seconds",
            str(ready_seconds),
            *([] if ahead else ["--page-subscribes"]),
        ],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def answer() -> dict:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the watchers' process ended (exit {process.wait()})")
        return json.loads(line)

    def states() -> list[dict]:
        process.stdin.write("stats\n")
        process.stdin.flush()
        return answer()["watchers"]

    try:
        yield {"pid": process.pid, "ready": answer()["ready"], "states": states}
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stall_url")
    parser.add_argument("count", type=int)
    parser.add_argument("--ready-seconds", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=0.2, help="seconds between arrivals")
    parser.add_argument(
        "--page-subscribes",
        action="store_true",
        help="not as a browser's navigation: no subscription ahead, the watcher makes its own",
    )
    args = parser.parse_args(argv)
    watchers = watch(
        args.stall_url, args.count, args.ready_seconds, args.every, not args.page_subscribes
    )
    asyncio.run(watchers)


if __name__ == "__main__":
    main()
