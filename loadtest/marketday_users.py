"""Market Day's active people, for Locust (loadtest/marketday.py starts it headless).

- Seller (`--sellers`): lives in their stall. Holds the stall's socket with a
  heartbeat, answers buyers' offers on it (accept, or counter halfway to the price),
  starts flash auctions of their items from the stall's form, ships paid orders.
- Shopper (`--shoppers`): issue 22's signed-in buyer (loadtest/locustfile.py: walks
  the grid into stalls, fills the cart, reads offers), who also holds the socket of
  the stall they are in and chats on it, makes offers (and takes a seller's counter),
  bids on the stall's flash auction over its socket with idempotency keys (now and
  then sending a key again), checks out with the test gateway's card and confirms
  receipt of shipped orders.

Each acknowledgement is written to the history file (loadtest/history.py) as it was
told, and each seller's joining of their stall's room (`live`). The market, the
sessions and the file come from $LOADTEST_FIXTURES.
"""

import json
import random
import re
import secrets
import sys
import time
from collections import deque
from pathlib import Path

from locust import FastHttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._auction_clients import answer_record
from bench._ws import ws_url
from loadtest.locustfile import FIXTURES, HTMX, Buyer
from loadtest.sockets import PageSocket

ORDER_ROW = re.compile(r'href="/orders/([0-9A-Z]{26})/">.*?status-(\w+)', re.S)
TOTAL = re.compile(r'name="total_cents" value="(\d+)"')
AUCTION = re.compile(r'data-auction="([0-9A-Z]{26})"\s+data-you="[^"]*"\s+data-status="live"')
_history = []


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--sellers", type=int, default=25, help="sellers in their stalls")
    parser.add_argument("--shoppers", type=int, default=200, help="active buyers")


@events.init.add_listener
def _counts(environment, **_kwargs) -> None:
    options = environment.parsed_options
    if options is not None:
        Seller.fixed_count = min(options.sellers, len(FIXTURES["sellers"]))
        Shopper.fixed_count = min(options.shoppers, len(FIXTURES["sessions"]))


def record(kind: str, **fields) -> None:
    """One acknowledged thing, as told, on its own line of the history file."""
    if not _history:
        _history.append(open(FIXTURES["history"], "a"))  # noqa: SIM115 (open for the run)
    _history[0].write(json.dumps({"kind": kind, **fields}) + "\n")
    _history[0].flush()


def new_key() -> str:
    return secrets.token_hex(12)


def offer_to_answer(frame: dict, *, role: str) -> dict | None:
    """The offer of an `offer` frame to its receiver (`role`) when the other side named
    its pending amount: the receiver's turn to answer it."""
    offer = frame.get("offer") or {}
    other_side = "buyer" if role == "seller" else "seller"
    if (
        frame.get("type") == "offer"
        and frame.get("role") == role
        and offer.get("side") == other_side
        and offer.get("status") == "pending"
    ):
        return offer
    return None


class SignedIn:
    """What both sides share: a session cookie with a CSRF token, form posts."""

    cookie = ""
    csrf = ""

    def sign_in(self, session: str) -> None:
        self.csrf = secrets.token_hex(16)
        self.client.cookiejar.clear()
        self.cookie = f"{FIXTURES['cookie']}={session}; csrftoken={self.csrf}"

    def headers(self, extra: dict | None = None) -> dict:
        return {"Cookie": self.cookie, **(extra or {})}

    def post(self, path: str, data: dict, *, name: str, htmx: bool = False, **options):
        headers = {"X-CSRFToken": self.csrf, "Idempotency-Key": new_key(), **(HTMX if htmx else {})}
        return self.client.post(
            path, data=data, headers=self.headers(headers), name=name, **options
        )

    def order_rows(self, path: str, name: str) -> list[tuple[str, str]]:
        """(order id, status) of each order listed on `path`."""
        return ORDER_ROW.findall(self.client.get(path, headers=self.headers(), name=name).text)

    def order_action(self, order: str, action: str, data: dict, done: str) -> bool:
        """An order's form, followed to its page, which says `done` if it was done."""
        with self.post(
            f"/orders/{order}/{action}/", data, name=f"order {action}", catch_response=True
        ) as response:
            response.success()  # a refusal is said on the page, as to a person
            return done in response.text

    def open_socket(self, path: str, name: str, **options) -> PageSocket | None:
        """The page's socket on `path`, or None if its join failed (reported as such)."""
        try:
            return PageSocket(
                self.environment,
                ws_url(self.host, path),
                origin=self.host,
                cookie=self.cookie.split("; ")[0],
                name=name,
                **options,
            )
        except ConnectionError:
            return None


class Seller(SignedIn, FastHttpUser):
    """A seller in their stall: answers offers, runs flash auctions, ships."""

    wait_time = between(1, 3)
    fixed_count = 25
    _taken = 0

    def on_start(self) -> None:
        self.me = FIXTURES["sellers"][Seller._taken % len(FIXTURES["sellers"])]
        Seller._taken += 1
        self.sign_in(self.me["session"])
        self.to_answer: deque[dict] = deque()
        self.auction_until = 0.0
        stall = self.me["stall"]
        self.client.get(f"/stalls/{stall['id']}/", name="stall (seller)", headers=self.headers())
        self.room = None
        self.in_stall()

    def in_stall(self) -> bool:
        """The stall's socket open: joined again if it failed or closed, as the page does."""
        if self.room is not None and not self.room.reader.dead:
            return True
        if self.room is not None:
            self.room.close()
        path = f"/ws/stalls/{self.me['stall']['id']}/"
        self.room = self.open_socket(path, "seller room", sync=True)
        if self.room is None:
            return False
        self.room.on_frame = self.heard
        record("live", seller=self.me["handle"])
        return True

    def on_stop(self) -> None:
        if self.room is not None:
            self.room.close()

    def heard(self, frame: dict) -> None:
        """A buyer's new amount (or counter to the seller's) is the seller's to answer."""
        if offer := offer_to_answer(frame, role="seller"):
            self.to_answer.append(offer)

    @task(4)
    def answer_offer(self) -> None:
        """Accept, or counter halfway between the buyer's amount and the price."""
        if not self.in_stall() or not self.to_answer:
            return
        offer = self.to_answer.popleft()
        price = FIXTURES["prices"].get(offer["item"], 0)
        counter = (offer["amount_cents"] + price) // 2
        if random.random() < 0.5 or counter <= offer["amount_cents"]:
            frame = {"action": "accept", "id": offer["id"]}
        else:
            frame = {"action": "counter", "id": offer["id"], "amount": counter}
        self.offer_intent(frame)

    def offer_intent(self, frame: dict) -> None:
        key = new_key()
        answer = self.room.ask(
            f"offer {frame['action']}", {"type": "offer", "key": key, **frame}, key
        )
        if answer is not None and answer.get("ok"):
            record(
                "offer",
                actor=self.me["handle"],
                key=key,
                action=frame["action"],
                offer=answer["offer"]["id"],
            )

    @task(2)
    def flash_auction(self) -> None:
        """Put one unit of an item up from the stall's form, when none of theirs runs."""
        if time.time() < self.auction_until:
            return
        stall = self.me["stall"]
        item = random.choice(stall["items"])
        seconds = FIXTURES["auction_seconds"]
        start = max(100, FIXTURES["prices"][item] // 2)
        with self.post(
            f"/stalls/{stall['id']}/flash-auction/tools",
            {"item": item, "start": f"{start / 100:.2f}", "duration": str(seconds)},
            name="flash auction start",
            htmx=True,
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                self.auction_until = time.time() + seconds + 5
            elif response.status_code == 400:  # the last one is still closing: said in place
                response.success()
                self.auction_until = time.time() + 5

    @task(2)
    def ship(self) -> None:
        for order, status in self.order_rows("/orders/selling/", "orders selling"):
            if status == "paid_escrow":
                data = {"carrier": "UPS", "tracking_number": f"1Z{order[-10:]}"}
                self.order_action(order, "ship", data, "Marked as shipped")


class Shopper(SignedIn, Buyer):
    """A signed-in buyer who also talks, haggles, bids, pays and confirms."""

    wait_time = between(1, 3)
    fixed_count = 200

    def on_start(self) -> None:
        super().on_start()
        session = self.cookie.split(";")[0].split("=", 1)[1]
        self.handle = FIXTURES["handles"][session]
        self.stall: dict | None = None
        self.room: PageSocket | None = None
        self.auction: tuple[str, PageSocket] | None = None
        self.state: dict = {}
        self.counters: deque[dict] = deque()

    def on_stop(self) -> None:
        self.leave()

    def leave(self) -> None:
        for socket in (self.room, self.auction[1] if self.auction else None):
            if socket is not None:
                socket.close()
        self.room, self.auction = None, None

    def walk(self) -> dict:
        """Into a stall: its page, then its socket (the one left behind closes)."""
        stall = super().walk()
        self.leave()
        self.stall = stall
        self.join_room()
        return stall

    def join_room(self) -> None:
        self.room = self.open_socket(f"/ws/stalls/{self.stall['id']}/", "stall room", sync=True)
        if self.room is not None:
            self.room.on_frame = self.heard

    def heard(self, frame: dict) -> None:
        """A seller's counter is the shopper's to take."""
        if offer := offer_to_answer(frame, role="buyer"):
            self.counters.append(offer)

    def here(self) -> bool:
        """In a stall with its socket open: walking in first if in none, or opening the
        socket again if it failed (as the page reconnects)."""
        if self.stall is None:
            self.walk()
        elif self.room is None:
            self.join_room()
        return self.room is not None

    @task(3)
    def chat(self) -> None:
        if not self.here():
            return
        client_id = new_key()
        text = random.choice(("Hello!", "Is this still available?", "Nice stall", "Ship today?"))
        text = f"{text} #{client_id[:6]}"
        frame = {"type": "chat", "text": text, "client_id": client_id}
        answer = self.room.ask("chat", frame, client_id)
        if answer is not None and answer.get("type") == "chat_ack":
            record("chat", author=self.handle, id=answer["message"]["id"], text=text)

    @task(2)
    def haggle(self) -> None:
        """Take a seller's counter if one came, else offer 60-90% of an item's price."""
        if not self.here():
            return
        if self.counters:
            frame = {"action": "accept", "id": self.counters.popleft()["id"]}
        else:
            item = random.choice(self.stall["items"])
            price = FIXTURES["prices"].get(item, 1000)
            frame = {"action": "make", "id": item, "amount": int(price * random.uniform(0.6, 0.9))}
        key = new_key()
        answer = self.room.ask(
            f"offer {frame['action']}", {"type": "offer", "key": key, **frame}, key
        )
        if answer is not None and answer.get("ok"):
            record(
                "offer", actor=self.handle, key=key, action=frame["action"],
                offer=answer["offer"]["id"],
            )  # fmt: skip

    @task(4)
    def bid(self) -> None:
        """On the stall's live flash auction, if any, unless leading it: the next
        minimum (sometimes one increment more) over the auction's socket; one bid in
        ten is sent again with its key, as a page retries, and both answers are kept."""
        stall = self.stall or self.walk()  # the panel is the page's, socket or not
        panel = self.client.get(
            f"/stalls/{stall['id']}/flash-auction/", name="flash panel", headers=self.headers()
        )
        found = AUCTION.search(panel.text)
        if found is None:
            return
        auction = found.group(1)
        if self.auction is None or self.auction[0] != auction:
            if self.auction is not None:
                self.auction[1].close()
            socket = self.open_socket(f"/ws/auctions/{auction}/", "auction")
            if socket is None:
                self.auction = None
                return
            self.auction = (auction, socket)
            self.state = socket.welcome.get("state", {})
            socket.on_frame = self.auction_update
        state = self.state
        if (
            state.get("status") != "live"
            or state.get("leader") == self.auction[1].welcome["you_as"]
        ):
            return  # over, or this shopper leads: the page says so, and nobody outbids themself
        amount = state["minimum_cents"] + random.choice((0, 0, state["increment_cents"]))
        key = new_key()
        for _ in range(2 if random.random() < 0.1 else 1):
            sent = time.time()
            answer = self.auction[1].ask("bid", {"bid": amount, "key": key}, key)
            if answer is None:
                return
            record(
                "bid", auction=auction, **answer_record(self.handle, key, sent, time.time(), answer)
            )
            if answer.get("state"):
                self.auction_update({"type": "update", "state": answer["state"]})

    def auction_update(self, frame: dict) -> None:
        state = frame.get("state")
        if (
            frame.get("type") == "update"
            and state
            and state["version"] >= self.state.get("version", 0)
        ):
            self.state = state

    @task(2)
    def buy(self) -> None:
        """One of the stall's items into the cart, then checkout, the test card, the
        payment page: a payment answered as paid goes into the history."""
        stall = self.stall or self.walk()
        self.post("/cart/add/", {"item": random.choice(stall["items"]), "quantity": "1"},
                  name="cart add", htmx=True)  # fmt: skip
        page = self.client.get("/checkout/", name="checkout", headers=self.headers())
        total = TOTAL.search(page.text)
        if total is None:
            return
        pay = self.post("/checkout/pay/", {"total_cents": total.group(1)}, name="checkout pay",
                        allow_redirects=False)  # fmt: skip
        gateway = pay.headers.get("Location", "")
        if "/test-gateway/sessions/" not in gateway:
            return
        paid = self.post(
            "/test-gateway/" + gateway.split("/test-gateway/", 1)[1],
            {"card_number": FIXTURES["card"]},
            name="test gateway pay",
            allow_redirects=False,
        )
        back = paid.headers.get("Location", "")
        if "/payments/" not in back:
            return
        path = "/payments/" + back.split("/payments/", 1)[1]
        if "it's paid" in self.client.get(path, name="payment", headers=self.headers()).text:
            record("payment", buyer=self.handle, payment=path.rstrip("/").rsplit("/", 1)[1])

    @task(2)
    def confirm(self) -> None:
        for order, status in self.order_rows("/orders/", "orders bought"):
            if status == "shipped" and self.order_action(order, "received", {}, "Thank you!"):
                record("received", buyer=self.handle, order=order)
