"""An auction's last seconds over a bad network: eight bidders reach two web processes
through `LossyLink` (50 ms ± 10 ms each way, 5% of chunks lost and sent again a
retransmission timeout later, as netem's delay, jitter and loss look to TCP's
reader), bidding through the soft close and past the end. The close is fair by the
server's clock: every bid that reached the server before the end counts (some were
sent in time and arrived late: they are refused as after the end, not lost), none
that reached it after; one winner, the highest accepted bid, every acknowledged bid
stored as told (bench/_history.py)."""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter

from bench.auction import history, seed_market
from tests.faults import stack
from tests.faults.bidders import Bidder, Market, bid_until
from tests.faults.conftest import dump_logs
from tests.faults.link import LossyLink

pytestmark = stack.FAULT_TEST

WEB_PORT = 8613
BIDDERS = 8
END_IN_SECONDS = 5.0  # bidding starts about now; soft close moves the end ...
SOFT_CLOSE_ROOM_SECONDS = 2.0  # ... up to this much later (the hard end)
BID_PAST_END_SECONDS = 2.0


def end_auction_soon(database_url: str, auction_id: int, ends_at: float) -> None:
    """The seeded hour-long auction ends at `ends_at` (epoch), hard end a little later."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE auctions_auction SET ends_at = to_timestamp(%s), "
            "hard_ends_at = to_timestamp(%s) WHERE id = %s",
            (ends_at, ends_at + SOFT_CLOSE_ROOM_SECONDS, auction_id),
        )


def closed_auction(database_url: str, auction_id: int) -> tuple[str, float, str | None, int | None]:
    """Status, end (epoch), winner's handle and final price, after the sweep."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT a.status, extract(epoch FROM a.ends_at)::float, u.handle, "
            "a.final_price_cents FROM auctions_auction a "
            "LEFT JOIN accounts_user u ON u.id = a.winner_id WHERE a.id = %s",
            (auction_id,),
        ).fetchone()


async def bid_through(link: LossyLink, public_id: str, bidders: list[Bidder], until: float):
    async with link:
        market = Market(f"http://127.0.0.1:{link.port}", public_id)
        await asyncio.gather(*(bid_until(market, bidder, until) for bidder in bidders))


def test_an_auction_closing_over_a_lossy_link_is_fair_by_server_time(market_env, workdir):
    case = f"{BIDDERS}:socket"
    seed = seed_market(market_env, BIDDERS, [case], "lossy")
    auction = seed["auctions"][case]
    database_url = market_env["DATABASE_URL"]
    bidders = [
        Bidder(handle, f"{seed['cookie']}={session}")
        for handle, session in zip(seed["handles"], seed["sessions"], strict=True)
    ]
    link = LossyLink(WEB_PORT, delay=0.05, jitter=0.01, loss=0.05, seed=7)
    # Bidders as fast as their answers come: the per-person pace (BID_PACE) would refuse
    # most of those bids, and the close is what is under test.
    server_env = {**market_env, "BID_PACE": "off"}
    with stack.web(server_env, port=WEB_PORT, workers=2, log=workdir / "web.log"):
        planned_end = time.time() + END_IN_SECONDS
        end_auction_soon(database_url, auction["id"], planned_end)
        load = os.getloadavg()
        until = planned_end + SOFT_CLOSE_ROOM_SECONDS + BID_PAST_END_SECONDS
        asyncio.run(bid_through(link, auction["public_id"], bidders, until))
        time.sleep(2.5)  # the sweep closes an auction CLOSE_GRACE (2 s) after its end
        subprocess.run(
            [sys.executable, "manage.py", "close_auctions"],
            cwd=stack.ROOT,
            env=market_env,
            check=True,
            capture_output=True,
        )
        status, ends_at, winner, final_price = closed_auction(database_url, auction["id"])
        answers = [answer for bidder in bidders for answer in bidder.answers]
        check = history(database_url, auction["id"], answers)
        logs = dump_logs(workdir)

    accepted = [a for a in answers if a["ok"]]
    ended = [a for a in answers if a["code"] == "auction_ended"]
    sent_in_time_arrived_late = [a for a in ended if a["sent"] < ends_at]
    last_second = [a for a in accepted if ends_at - 1 <= a["sent"] < ends_at]
    highest = max(accepted, key=lambda a: a["amount_cents"])
    print(
        f"load {load}; link: {link.chunks} chunks, {link.losses} held back as lost; "
        f"{len(answers)} answers, {len(accepted)} accepted ({len(last_second)} sent in the "
        f"last second), {len(ended)} refused as after the end ({len(sent_in_time_arrived_late)} "
        f"of them sent before it); end moved {ends_at - planned_end:+.2f} s; "
        f"winner {winner} at {final_price}; history {check}; "
        f"answers by refusal code {Counter(a['code'] for a in answers)}"
    )
    assert link.losses > 0 and link.chunks > 10 * link.losses
    assert status == "settled", logs  # the sweep closed it and charged the winner
    assert check["ok"], f"{check}\n{logs}"
    assert last_second and ended, "the close did not fall inside the bidding"
    assert all(a["sent"] < ends_at for a in accepted), "a bid sent after the end counted"
    assert all(a["at"] >= ends_at for a in ended), "a bid was refused as late before the end"
    assert (winner, final_price) == (highest["bidder"], highest["amount_cents"])
