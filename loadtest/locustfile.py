"""The two crowds issue 22 measured, for Locust (loadtest/run.py starts it headless).

- Walker (`--walkers`, signed out): a section of the grid, then one of its stalls,
  thinking 1-3 s between pages.
- Buyer (`--buyers`, signed in): mostly walks the same way; sometimes puts an item of
  the stall it is at in the cart (the htmx POST the page sends) and opens the cart;
  sometimes reads the item's offers panel and its own offers.

The market (sections, stalls, items) and the buyers' sessions come from the JSON file
named by $LOADTEST_FIXTURES, which loadtest/run.py writes before starting Locust.
"""

import json
import os
import random
import secrets

from locust import FastHttpUser, between, events, task

FIXTURES: dict = {}
HTMX = {"HX-Request": "true"}


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--walkers", type=int, default=200, help="signed-out walkers")
    parser.add_argument("--buyers", type=int, default=100, help="signed-in buyers")


@events.init.add_listener
def _load(environment, **_kwargs) -> None:
    """Read the market and the sessions; each population's size from the options."""
    with open(os.environ["LOADTEST_FIXTURES"]) as fixtures:
        FIXTURES.update(json.load(fixtures))
    options = environment.parsed_options
    if options is not None:
        Walker.fixed_count = options.walkers
        Buyer.fixed_count = min(options.buyers, len(FIXTURES["sessions"]))


class Walker(FastHttpUser):
    """A visitor who is not signed in, looking around."""

    wait_time = between(1, 3)
    fixed_count = 200

    def walk(self) -> dict:
        """The grid's section of a random stall, then that stall; the stall, for more."""
        stall = random.choice(FIXTURES["stalls"])
        x, y = stall["section"]
        self.client.get(f"/market/{x}/{y}/", name="grid")
        self.client.get(f"/stalls/{stall['id']}/", name=f"stall ({self.who})")
        return stall

    who = "signed out"

    @task
    def look_around(self) -> None:
        self.walk()


class Buyer(Walker):
    """A signed-in buyer: walks, fills the cart, bargains."""

    fixed_count = 100
    who = "signed in"
    _taken = 0

    def on_start(self) -> None:
        sessions = FIXTURES["sessions"]
        session = sessions[Buyer._taken % len(sessions)]
        Buyer._taken += 1
        self.csrf = secrets.token_hex(16)  # 32 characters: Django takes it as the secret
        self.client.cookiejar.clear()
        self.cookie = f"{FIXTURES['cookie']}={session}; csrftoken={self.csrf}"

    def headers(self, extra: dict | None = None) -> dict:
        return {"Cookie": self.cookie, **(extra or {})}

    def walk(self) -> dict:
        stall = random.choice(FIXTURES["stalls"])
        x, y = stall["section"]
        self.client.get(f"/market/{x}/{y}/", name="grid", headers=self.headers())
        self.client.get(f"/stalls/{stall['id']}/", name="stall (signed in)", headers=self.headers())
        return stall

    @task(3)
    def look_around(self) -> None:
        self.walk()

    @task
    def cart(self) -> None:
        """Add one of the stall's items (sold out or own answers 4xx in place: not a
        failure), then open the cart."""
        stall = self.walk()
        item = random.choice(stall["items"])
        headers = self.headers({**HTMX, "X-CSRFToken": self.csrf})
        with self.client.post(
            "/cart/add/",
            data={"item": item, "quantity": "1"},
            headers=headers,
            name="cart add",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 400, 403, 409):
                response.success()
        self.client.get("/cart/", name="cart", headers=self.headers())

    @task
    def offers(self) -> None:
        """The offers panel of an item at the stall, then the buyer's own offers."""
        stall = self.walk()
        item = random.choice(stall["items"])
        self.client.get(f"/items/{item}/offers/", name="offers panel", headers=self.headers(HTMX))
        self.client.get("/offers/", name="my offers", headers=self.headers())
