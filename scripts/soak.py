"""Soak the embedded market: `make run` under ordinary use, and every process still up.

    .venv/bin/python scripts/soak.py               # ten minutes
    .venv/bin/python scripts/soak.py --minutes 2

Starts `make run` as a newcomer would (no REDIS_URL: SQLite, the in-memory channel
layer, background work inside the web process), on a database and media folder of its
own under var/soak/, and for the given time keeps people busy against it: shoppers
browse grid sections, stalls and searches; a shopper chats in a stall; buyers make
offers the seller declines; the seller starts 30-second auctions over HTTP that
bidders bid on, while a watcher's socket waits for each close to arrive live; the
seller uploads photos. Every few seconds it checks that the server's processes are
the ones it started and that /healthz/ answers.

At the end it prints what was done and what failed, the processes' fate, the log's
tracebacks and restarts, and background jobs that failed, then one line of JSON. It
exits non-zero when a process died or was restarted, an auction's close was not seen
live, or an accepted upload was not stored. Not a benchmark: times are not judged.
"""

import argparse
import io
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import django_script, free_port, signed_in_sessions  # noqa: E402

BUYERS = 4
AUCTION_SECONDS = 30
CLOSE_SEEN_WITHIN = 15.0
CLOSING_EVENTS = ("closed", "settled", "unsold")
SEARCHES = ["lamp", "chair", "book", "vintage", "brass", "record", "zzz-nothing"]

# A seller with a stall of items (some plentiful, for offers), buyers with a saved
# card and an address (bidding needs both). Prints the ids the soak needs.
_SEED_SCRIPT = """
import json, sys
import django
django.setup()
from django.conf import settings
from accounts.seeding import users_create_many
from bazaar.idempotency import new_key
from market.models import Section
from orders.payments.test_gateway import CARD_OK, TestGateway
from orders.checkout.services import shipping_address_save
from orders.payments.services import card_setup_start
from orders.payments.webhooks import event_handle
from stalls.models import Stall
from stalls.services import item_create, seller_register, stall_create

buyers = sys.argv[1].split(",")
seller = users_create_many(handles=["soak_seller"], password="soak-only-password")["soak_seller"]
seller_register(user=seller, legal_name="Soak Seller", country="US")
stall = None
for section in Section.objects.order_by("y", "x"):
    taken = set(section.stalls.values_list("slot", flat=True))
    free = sorted(set(range(9)) - taken)
    if free:
        stall = stall_create(user=seller, name="Soak stall", description="Everything must go.",
                             section_x=section.x, section_y=section.y, slot=free[0])
        break
items = [item_create(actor=seller, stall=stall, title=f"Soak lamp {n}", description="A lamp.",
                     price_cents=5000, currency=settings.MARKET_CURRENCY, inventory=1000)
         for n in range(120)]
gateway = TestGateway()
for handle, user in users_create_many(handles=buyers, password="soak-only-password").items():
    url = card_setup_start(buyer=user, idempotency_key=new_key(), base_url="http://soak")
    event = gateway.session_complete(session_id=url.rstrip("/").rsplit("/", 1)[-1],
                                     card_number=CARD_OK)
    event_handle(event=event, gateway_name="test")
    shipping_address_save(buyer=user, name=handle, line1="1 Soak Row", line2="",
                          city="Springfield", postal_code="12345", country="US")
sections = list(Section.objects.values_list("x", "y"))
stalls = list(Stall.objects.values_list("public_id", flat=True)[:200])
print(json.dumps({"stall": stall.public_id, "items": [item.public_id for item in items],
                  "sections": sections, "stalls": stalls}))
"""

_RUNNING_AUCTION_SCRIPT = """
import json
import django
django.setup()
from auctions.models import Auction
mine = Auction.objects.filter(item__stall__seller__user__handle="soak_seller")
auction = mine.order_by("-id").first()
print(json.dumps(auction.public_id if auction else None))
"""

_FINAL_SCRIPT = """
import json
import django
django.setup()
from auctions.models import Auction
from bazaar.models import Job
from stalls.models import Photo
print(json.dumps({
    "failed_jobs": list(Job.objects.filter(status="failed").values_list("task", flat=True)),
    "queued_jobs": Job.objects.filter(status="queued").count(),
    "photos": Photo.objects.filter(stall__seller__user__handle="soak_seller").count(),
    "auctions": dict(Counter(Auction.objects.filter(
        item__stall__seller__user__handle="soak_seller").values_list("status", flat=True))),
}))
""".replace("import json\n", "import json\nfrom collections import Counter\n", 1)


class Http:
    """One signed-in (or guest) keep-alive connection, with a CSRF token of its own."""

    def __init__(self, port: int, cookie: str = ""):
        import http.client

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.csrf = secrets.token_hex(16)
        self.cookie = f"{cookie}; csrftoken={self.csrf}" if cookie else ""

    def request(self, method: str, path: str, body: bytes = b"", headers=None):
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.csrf, **(headers or {})}
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body or None, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except OSError:
            self.connection.close()
            raise
        return response.status, data, time.perf_counter() - started

    def post(self, path: str, form: dict, headers=None):
        heads = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, urlencode(form).encode(), heads)

    def post_file(self, path: str, form: dict, field: str, name: str, content: bytes):
        boundary = secrets.token_hex(12)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in form.items()
        ]
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{name}"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        body = (
            "".join(parts).encode() + head.encode() + content + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )


class Soak:
    def __init__(self, args, port: int, seed: dict, cookie_name: str, sessions: dict):
        self.args, self.port, self.seed = args, port, seed
        self.cookies = {who: f"{cookie_name}={key}" for who, key in sessions.items()}
        self.until = time.monotonic() + args.minutes * 60
        self.counts: Counter = Counter()
        self.failures: Counter = Counter()
        self.page_times: list[float] = []
        self.close_delays: list[float] = []
        self.notes: list[str] = []
        self.lock = threading.Lock()
        self.auction: dict = {}

    def going(self) -> bool:
        return time.monotonic() < self.until

    def count(self, what: str, ok: bool = True, note: str = "") -> None:
        with self.lock:
            (self.counts if ok else self.failures)[what] += 1
            if not ok and note and len(self.notes) < 20:
                self.notes.append(f"{what}: {note}")

    def pace(self, seconds: float) -> None:
        time.sleep(seconds * random.uniform(0.7, 1.3))

    # People

    def browser(self) -> None:
        http = Http(self.port)
        while self.going():
            kind = random.choice(["section", "stall", "search"])
            if kind == "section":
                x, y = random.choice(self.seed["sections"])
                path = f"/market/{x}/{y}/"
            elif kind == "stall":
                path = f"/stalls/{random.choice(self.seed['stalls'])}/"
            else:
                path = f"/search/?{urlencode({'q': random.choice(SEARCHES)})}"
            try:
                status, _, seconds = http.request("GET", path)
            except OSError as error:
                self.count("pages", False, f"{path}: {error!r}")
            else:
                self.count("pages", status == 200, f"{path} answered {status}")
                self.page_times.append(seconds)
            self.pace(0.3)

    def chatter(self) -> None:
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{self.port}/ws/stalls/{self.seed['stall']}/"
        origin = f"http://127.0.0.1:{self.port}"
        number = 0
        while self.going():
            try:
                with connect(
                    url, origin=origin, additional_headers={"Cookie": self.cookies["chat"]}
                ) as socket:
                    while self.going():
                        number += 1
                        client_id = f"soak-{number}"
                        socket.send(
                            json.dumps(
                                {"type": "chat", "text": f"Hello {number}", "client_id": client_id}
                            )
                        )
                        acked, why = self._acked(socket, client_id)
                        self.count("chat", acked, f"message {number}: {why}")
                        time.sleep(2.5)  # the chat limit is five in ten seconds
            except OSError as error:
                self.count("chat", False, f"socket: {error!r}")
                time.sleep(1)

    def _acked(self, socket, client_id: str) -> tuple[bool, str]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            raw = socket.recv(timeout=10)
            if not isinstance(raw, str):
                continue
            for frame in _frames(raw):
                if frame.get("client_id") == client_id:
                    return frame["type"] == "chat_ack", frame.get("code", "")
        return False, "no answer within 10 s"

    def haggler(self) -> None:
        buyer, seller = (
            Http(self.port, self.cookies["offer"]),
            Http(self.port, self.cookies["seller"]),
        )
        json_answer = {"Accept": "application/json"}
        # Twenty items for photos, twenty for auctions, the rest for offers, in turn: a
        # buyer may send five offers on one item.
        items = self.seed["items"][40:]
        number = 0
        while self.going():
            item = items[number % len(items)]
            number += 1
            try:
                status, body, _ = buyer.post(
                    f"/items/{item}/offers/new/",
                    {"amount": "30", "idempotency_key": secrets.token_hex(8)},
                    json_answer,
                )
                if status != 200:
                    self.count("offers", False, f"offer answered {status}: {body[:120]!r}")
                    continue
                offer = json.loads(body)["offer"]["id"]
                status, body, _ = seller.post(
                    f"/offers/{offer}/decline/",
                    {"idempotency_key": secrets.token_hex(8)},
                    json_answer,
                )
                self.count("offers", status == 200, f"decline answered {status}: {body[:120]!r}")
            except (OSError, ValueError, KeyError) as error:
                self.count("offers", False, repr(error))
            self.pace(3)

    def auctioneer(self) -> None:
        seller = Http(self.port, self.cookies["seller"])
        items = iter(self.seed["items"][20:40])
        while self.going() and time.monotonic() < self.until - AUCTION_SECONDS - CLOSE_SEEN_WITHIN:
            item = next(items, None)
            if item is None:
                return
            form = {
                "item": item,
                "start": "5",
                "duration": str(AUCTION_SECONDS),
                "unit": "s",
                "starts_in": "0",
            }
            try:
                status, body, _ = seller.post(
                    "/dashboard/stall/auctions/",
                    form,
                    {"Idempotency-Key": secrets.token_hex(8), "HX-Request": "true"},
                )
            except OSError as error:
                self.count("auctions started", False, repr(error))
                continue
            if status != 200 or b"is up" not in body:
                self.count("auctions started", False, f"answered {status}: {body[-200:]!r}")
                time.sleep(5)
                continue
            self.count("auctions started")
            public_id = json.loads(
                django_script(_RUNNING_AUCTION_SCRIPT, env=self.args.env).strip().splitlines()[-1]
            )
            # Bidding stops halfway, so no soft close keeps pushing the end out.
            self.auction = {"id": public_id, "bid": 500, "until": time.time() + AUCTION_SECONDS / 2}
            self._watch_until_closed(public_id)
            self.pace(5)

    def _watch_until_closed(self, public_id: str) -> None:
        """A watcher's socket, from the start to the close frame (or its absence)."""
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{self.port}/ws/auctions/{public_id}/"
        ends = None
        deadline = time.monotonic() + AUCTION_SECONDS + 60
        with connect(url, origin=f"http://127.0.0.1:{self.port}") as socket:
            while time.monotonic() < deadline:
                try:
                    raw = socket.recv(timeout=1)
                except TimeoutError:
                    if ends is not None and time.time() > ends + CLOSE_SEEN_WITHIN:
                        break
                    continue
                for frame in _frames(raw):
                    ends = (frame.get("state") or {}).get("ends_at", ends)
                    if frame.get("type") == "update" and frame.get("event") in CLOSING_EVENTS:
                        self.count("closes seen live")
                        self.close_delays.append(max(0.0, time.time() - ends))
                        self.auction = {}
                        return
        self.count("closes seen live", False, f"no close frame for {public_id}")
        self.auction = {}

    def bidder(self, who: str) -> None:
        http = Http(self.port, self.cookies[who])
        while self.going():
            auction = self.auction
            if auction and time.time() < auction["until"]:
                auction["bid"] += random.choice([50, 100, 200])
                amount = auction["bid"]
                try:
                    status, _, _ = http.post(
                        f"/auctions/{auction['id']}/bids",
                        {"amount": f"{amount / 100:.2f}"},
                        {"Idempotency-Key": secrets.token_hex(8), "Accept": "application/json"},
                    )
                except OSError as error:
                    self.count("bids", False, repr(error))
                else:
                    if status == 200:
                        self.count("bids")
                    else:
                        self.count("bids refused (too low or ended)")
            self.pace(2)

    def uploader(self) -> None:
        from PIL import Image

        http = Http(self.port, self.cookies["seller"])
        items = self.seed["items"][:20]
        number = 0
        while self.going():
            item = items[(number // 5) % len(items)]
            number += 1
            picture = io.BytesIO()
            colour = tuple(random.randrange(256) for _ in range(3))
            Image.new("RGB", (640, 480), colour).save(picture, "JPEG")
            try:
                status, body, _ = http.post_file(
                    "/dashboard/stall/photos/",
                    {"item": item},
                    "image",
                    "soak.jpg",
                    picture.getvalue(),
                )
            except OSError as error:
                self.count("uploads", False, repr(error))
            else:
                self.count("uploads", status in (200, 302), f"answered {status}: {body[:120]!r}")
            self.pace(10)


def _frames(raw: str) -> list[dict]:
    frame = json.loads(raw)
    return frame["frames"] if frame.get("type") == "batch" else [frame]


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`: {pid: its command line}."""
    found = {}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in map(int, children):
        try:
            found[child] = (
                Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            )
        except FileNotFoundError:
            continue
        found.update(descendants(child))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    port = args.port or free_port()
    folder = ROOT / "var" / "soak"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bazaar.settings.local",
        DATABASE_URL=f"sqlite:///{folder / 'bazaar.sqlite3'}",
        MEDIA_ROOT=str(folder / "media"),
        HOST="127.0.0.1",
        PORT=str(port),
    )
    args.env = env
    log_path = folder / "make-run.log"
    print(f"soak: make run on port {port} for {args.minutes:g} min; log in {log_path}", flush=True)
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        return soak(args, port, make, log_path)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        try:
            make.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)


def soak(args, port: int, make: subprocess.Popen, log_path: Path) -> int:
    import urllib.request

    deadline = time.monotonic() + 600
    while True:
        if make.poll() is not None:
            print(log_path.read_text()[-3000:])
            raise SystemExit(f"make run exited with code {make.returncode} before serving")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("make run did not serve within 10 minutes") from None
            time.sleep(0.5)
    processes = descendants(make.pid)
    print(f"soak: serving; processes {sorted(processes)}", flush=True)

    buyers = [f"soak_{n}" for n in range(BUYERS)]
    seed = json.loads(
        django_script(_SEED_SCRIPT, ",".join(buyers), env=args.env).strip().splitlines()[-1]
    )
    cookie_name, keys = signed_in_sessions(env=args.env, prefix="soak_", count=BUYERS)
    seller_session = _session_for(args.env, "soak_seller")
    sessions = {
        "chat": keys[0],
        "offer": keys[1],
        "bid1": keys[2],
        "bid2": keys[3],
        "seller": seller_session,
    }
    run = Soak(args, port, seed, cookie_name, sessions)
    people = [run.browser, run.browser, run.chatter, run.haggler, run.auctioneer, run.uploader]
    threads = [threading.Thread(target=person, daemon=True) for person in people]
    threads += [
        threading.Thread(target=run.bidder, args=(who,), daemon=True) for who in ("bid1", "bid2")
    ]
    for thread in threads:
        thread.start()

    deaths: list[str] = []
    health_failures = 0
    started = time.monotonic()
    while run.going():
        time.sleep(5)
        now = descendants(make.pid)
        for pid, command in processes.items():
            if pid not in now and not any(d.startswith(f"{pid} ") for d in deaths):
                deaths.append(
                    f"{pid} ({command[:60]}) gone after {time.monotonic() - started:.0f} s"
                )
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5)
        except OSError:
            health_failures += 1
        print(f"soak: {time.monotonic() - started:4.0f} s {dict(run.counts)}", flush=True)
    for thread in threads:
        thread.join(timeout=CLOSE_SEEN_WITHIN + AUCTION_SECONDS + 60)

    final = json.loads(django_script(_FINAL_SCRIPT, env=args.env).strip().splitlines()[-1])
    log = log_path.read_text(errors="replace")
    restarts = [line for line in log.splitlines() if "exited with code" in line]
    tracebacks = log.count("Traceback (most recent call last)")
    uploads_ok = run.counts["uploads"]
    problems = []
    if deaths or restarts or make.poll() is not None:
        problems.append("a process died")
    if run.failures["closes seen live"] or not run.counts["closes seen live"]:
        problems.append("an auction's close was not seen live")
    if final["photos"] < uploads_ok:
        problems.append(f"{uploads_ok} uploads accepted but {final['photos']} photos stored")

    pages = sorted(run.page_times)
    closes = run.close_delays
    lines = [f"\nsoak: {args.minutes:g} min of make run (embedded: SQLite, in-memory layer)"]
    for what in sorted(set(run.counts) | set(run.failures)):
        lines.append(f"  {what:<32} {run.counts[what]:>6} ok  {run.failures[what]:>4} failed")
    if pages:
        lines.append(
            f"  pages: p50 {statistics.median(pages) * 1e3:.0f} ms, most {pages[-1] * 1e3:.0f} ms"
        )
    if closes:
        lines.append(
            f"  auction end -> close frame: median {statistics.median(closes):.1f} s, "
            f"most {max(closes):.1f} s"
        )
    lines += [
        f"  photos stored {final['photos']} (uploads accepted {uploads_ok})",
        f"  auctions by status {final['auctions']}",
        f"  jobs failed {final['failed_jobs']}, still queued {final['queued_jobs']}",
        f"  processes at start {len(processes)}: {deaths or 'all alive'}",
        f"  restarts in the log {len(restarts)}; tracebacks {tracebacks}",
        f"  /healthz/ failures {health_failures}",
        *(f"  note: {note}" for note in run.notes),
        "  verdict: " + ("every process stayed up" if not problems else "; ".join(problems)),
    ]
    print("\n".join(lines))
    figures = {
        "minutes": args.minutes,
        "done": dict(run.counts),
        "failed": dict(run.failures),
        "page_p50_ms": round(statistics.median(pages) * 1000, 1) if pages else None,
        "close_delay_median_s": round(statistics.median(run.close_delays), 2)
        if run.close_delays
        else None,
        "photos_stored": final["photos"],
        "failed_jobs": final["failed_jobs"],
        "process_deaths": deaths,
        "restarts": len(restarts),
        "tracebacks": tracebacks,
        "healthz_failures": health_failures,
        "problems": problems,
    }
    print(json.dumps(figures))
    return 1 if problems else 0


_SESSION_SCRIPT = """
import json, sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.models import User
user = User.objects.get(handle=sys.argv[1])
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(json.dumps(session.session_key))
"""


def _session_for(env: dict, handle: str) -> str:
    return json.loads(django_script(_SESSION_SCRIPT, handle, env=env).strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
