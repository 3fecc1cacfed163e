"""kill -9 one of two web processes in the middle of an auction: its bidders' sockets
drop, they open new ones (to the other process, or the one started again), read the
state afresh and go on bidding; at the end every bid acknowledged, before the kill or
after, is stored as told (bench/_history.py)."""

import asyncio
import os
import signal
import time

from bench.auction import history, seed_market
from tests.faults import stack
from tests.faults.bidders import Bidder, Market, bid_until
from tests.faults.conftest import dump_logs

pytestmark = stack.FAULT_TEST

WEB_PORT = 8610
BIDDERS = 8


async def auction_with_a_kill(base: str, public_id: str, bidders: list[Bidder], kill) -> float:
    """Bid for 3 s, kill, bid 4 s more; the kill's time."""
    market = Market(base, public_id)
    until = time.time() + 7
    bidding = [asyncio.create_task(bid_until(market, bidder, until)) for bidder in bidders]
    await asyncio.sleep(3)
    killed_at = time.time()
    kill()
    await asyncio.gather(*bidding)
    return killed_at


def test_a_web_process_killed_mid_auction_loses_no_acknowledged_bid(market_env, workdir):
    case = f"{BIDDERS}:socket"  # bench/auction.py's seed: K bidders on one auction
    seed = seed_market(market_env, BIDDERS, [case], "kill")
    auction = seed["auctions"][case]
    bidders = [
        Bidder(handle, f"{seed['cookie']}={session}")
        for handle, session in zip(seed["handles"], seed["sessions"], strict=True)
    ]
    with stack.web(market_env, port=WEB_PORT, workers=2, log=workdir / "web.log") as server:
        workers = stack.children(server.pid)
        assert len(workers) == 2

        def kill_the_busier_worker():
            held = {pid: stack.established_on(pid, WEB_PORT) for pid in workers}
            victim = max(held, key=held.get)
            kill_the_busier_worker.held = held
            os.kill(victim, signal.SIGKILL)

        base = f"http://127.0.0.1:{WEB_PORT}"
        load = os.getloadavg()
        killed_at = asyncio.run(
            auction_with_a_kill(base, auction["public_id"], bidders, kill_the_busier_worker)
        )
        answers = [answer for bidder in bidders for answer in bidder.answers]
        check = history(market_env["DATABASE_URL"], auction["id"], answers)
        logs = dump_logs(workdir)

    dropped = [bidder for bidder in bidders if any(at >= killed_at for at in bidder.drops)]
    back = [
        min(at for at in bidder.joins if at >= killed_at) - killed_at
        for bidder in dropped
        if any(at >= killed_at for at in bidder.joins)
    ]
    acked_before = sum(1 for a in answers if a["ok"] and a["at"] < killed_at)
    print(
        f"load {load}; held per worker {kill_the_busier_worker.held}; {len(dropped)} bidders "
        f"dropped, back in {sorted(round(s, 2) for s in back)} s; {acked_before} bids "
        f"acknowledged before the kill, {len(answers)} answers, history {check}"
    )
    assert kill_the_busier_worker.held and max(kill_the_busier_worker.held.values()) >= 1
    assert dropped, "no bidder was on the killed process"
    assert len(back) == len(dropped), f"a bidder never got back in\n{logs}"
    assert acked_before > 0 and any(a["ok"] and a["at"] > killed_at for a in answers)
    assert check["ok"], f"{check}\n{logs}"
    assert not [b.stale_welcomes for b in bidders if b.stale_welcomes]
