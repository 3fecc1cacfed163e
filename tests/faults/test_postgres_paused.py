"""PostgreSQL stopped (SIGSTOP, every process of it) for 5 s under a web process:
requests are answered 503 with Retry-After within the bound (bazaar.database), never
500 and never left hanging; bids sent meanwhile and sent again with their keys after
are stored once each, as told (the history check); the service is back within 5 s of
SIGCONT."""

import os
import secrets
import threading
import time

from bench._clients import Client
from bench.auction import history, seed_market
from tests.faults import stack
from tests.faults.conftest import dump_logs

pytestmark = stack.FAULT_TEST

WEB_PORT = 8611
PAUSE_SECONDS = 5.0
BIDDERS = 3
# A request may queue behind others in the process's one request thread, each given
# up on after DATABASE_WAIT_SECONDS (3): a bound with room for a loaded machine.
ANSWER_BOUND_SECONDS = 20


class Visitor:
    """A signed-in person's requests, each on a new connection (a browser's would be
    as good), answers kept with their times."""

    def __init__(self, base: str, cookie_name: str, session: str):
        self.base = base
        self.cookies = {cookie_name: session, "csrftoken": secrets.token_hex(16)}

    def get(self, path: str, **headers):
        with Client(self.base, timeout=60, cookies=self.cookies) as client:
            return client.request("GET", path, headers=headers)

    def bid(self, public_id: str, amount_cents: int, key: str):
        with Client(self.base, timeout=60, cookies=self.cookies) as client:
            return client.request(
                "POST",
                f"/auctions/{public_id}/bids",
                form={"amount": f"{amount_cents / 100:.2f}"},
                headers={"Idempotency-Key": key, "Accept": "application/json"},
            )


def answer_of(handle: str, key: str, sent: float, response) -> dict:
    import json

    from bench._auction_clients import answer_record

    return answer_record(handle, key, sent, time.time(), json.loads(response.body))


def test_a_paused_postgres_gets_503s_and_the_service_comes_back(
    fault_postgres, market_env, workdir
):
    case = f"{BIDDERS}:http"
    seed = seed_market(market_env, BIDDERS, [case], "pause")
    auction = seed["auctions"][case]
    base = f"http://127.0.0.1:{WEB_PORT}"
    visitors = [Visitor(base, seed["cookie"], session) for session in seed["sessions"]]
    handles = seed["handles"]
    amounts = iter(range(10_000, 10_000_000, 10_000))
    answers: list[dict] = []
    during: list[tuple[str, float, float, object]] = []  # (what, sent, answered, response)

    with stack.web(market_env, port=WEB_PORT, workers=1, log=workdir / "web.log"):
        warm = visitors[0].get("/")
        assert warm.status == 200
        key = secrets.token_hex(12)
        sent = time.time()
        answers.append(
            answer_of(
                handles[0], key, sent, visitors[0].bid(auction["public_id"], next(amounts), key)
            )
        )

        keys = {index: (secrets.token_hex(12), next(amounts)) for index in range(BIDDERS)}

        def send(what: str, call) -> None:
            sent = time.time()
            try:
                response = call()
            except OSError as error:
                response = error
            during.append((what, sent, time.time(), response))

        calls = [("page", lambda v=v: v.get("/")) for v in visitors]
        calls.append(("fragment", lambda: visitors[0].get("/", **{"HX-Request": "true"})))
        calls += [
            (f"bid {i}", lambda i=i: visitors[i].bid(auction["public_id"], keys[i][1], keys[i][0]))
            for i in range(BIDDERS)
        ]
        load = os.getloadavg()
        fault_postgres.pause()
        paused_at = time.time()
        threads = [threading.Thread(target=send, args=call) for call in calls]
        for thread in threads:
            thread.start()
            time.sleep(0.1)
        time.sleep(max(0.0, paused_at + PAUSE_SECONDS - time.time()))
        fault_postgres.resume()
        resumed_at = time.time()
        back_in = stack.wait_for(
            lambda: visitors[1].get("/").status == 200, timeout=30, what="a page after SIGCONT"
        )
        for thread in threads:
            thread.join(timeout=60)

        # Bids told 503 are sent again with their keys, as the page does.
        for what, sent, _, response in during:
            if what.startswith("bid"):
                index = int(what.split()[1])
                key, amount = keys[index]
                if getattr(response, "status", 503) != 503:  # an answer (a refusal is a 409)
                    answers.append(answer_of(handles[index], key, sent, response))
                again = visitors[index].bid(auction["public_id"], amount, key)
                assert again.status != 503 and again.body.startswith(b"{"), again.text[:300]
                answers.append(answer_of(handles[index], key, time.time(), again))
        after = visitors[2].get("/")
        logs = dump_logs(workdir)

    statuses = [
        (what, getattr(r, "status", repr(r)), round(done - sent, 2))
        for what, sent, done, r in during
    ]
    print(
        f"load {load}; paused {PAUSE_SECONDS} s; answers during the pause {statuses}; "
        f"a page answered 200 {back_in:.2f} s after SIGCONT"
    )
    assert len(during) == len(calls), f"a request never came back\n{logs}"
    assert all(not isinstance(r, Exception) for *_, r in during), f"{statuses}\n{logs}"
    assert all(r.status < 500 or r.status == 503 for *_, r in during), f"{statuses}\n{logs}"
    told_503 = [(what, r) for what, _, _, r in during if r.status == 503]
    assert told_503, f"nothing was answered 503 during the pause: {statuses}"
    for what, response in told_503:
        assert response.headers.get("Retry-After") == "5"
        assert "database is not answering" in response.text
        assert ("<html" in response.text) == (what != "fragment")
    assert all(done - sent < ANSWER_BOUND_SECONDS for _, sent, done, _ in during), statuses
    assert back_in < 5.0, f"back {back_in:.2f} s after SIGCONT"
    assert after.status == 200
    check = history(market_env["DATABASE_URL"], auction["id"], answers)
    assert check["ok"], f"{check}\n{logs}"
    # Nothing half-written: every bid stored under a key (a proxy bid has none) is one
    # some bidder was told was accepted.
    keyed = fault_postgres.execute(
        market_env["DATABASE_URL"].rsplit("/", 1)[1],
        "SELECT idempotency_key FROM auctions_bid WHERE auction_id = %s AND idempotency_key <> ''",
        (auction["id"],),
    )
    assert {key for (key,) in keyed} == {a["key"] for a in answers if a["ok"]}
    assert resumed_at - paused_at >= PAUSE_SECONDS
