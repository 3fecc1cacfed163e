"""A history check in Jepsen's manner for an auction's bids: what clients were told,
against what the database holds at the end.

An answer (`Answer`) is what one client was told about one bid it sent: accepted
(with the bid's id, amount and the auction's version) or refused (with a code). The
same key may have been sent more than once (a retry, or two copies in flight
together): each copy's answer is recorded. The check assumes bids without a
maximum, as the benches send them: an accepted bid led when it was accepted unless
its bidder led already (then it raised their maximum, `leading` false).
"""

import itertools
from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    bidder: str
    key: str
    ok: bool
    code: str = ""
    bid_id: str = ""
    amount_cents: int = 0
    version: int = 0
    message: str = ""
    leading: bool = True  # false for a leader's raised maximum, or a bid a proxy beat


@dataclass(frozen=True)
class StoredBid:
    """A bid row at the end, in insertion order."""

    public_id: str
    bidder: str
    amount_cents: int
    leading: bool


def check_history(
    answers: list[Answer], stored: list[StoredBid], leader: str | None, price_cents: int | None
) -> dict[str, list]:
    """Every rule the history breaks, with examples (empty lists: none broken):
    `lost` (an accepted bid not stored as told), `falling` (the high bid went down or
    stood still), `wrong_winner` (the leader is not the highest accepted bid),
    `retry_differs` (copies of one key told different things), `version_order` (a
    later version holding a lower accepted bid)."""
    rows = {bid.public_id: bid for bid in stored}
    accepted = [answer for answer in answers if answer.ok]
    lost = sorted(
        {
            answer.bid_id
            for answer in accepted
            if (row := rows.get(answer.bid_id)) is None
            or (row.bidder, row.amount_cents) != (answer.bidder, answer.amount_cents)
        }
    )
    ladder = [bid.amount_cents for bid in stored if bid.leading]
    falling = [(a, b) for a, b in itertools.pairwise(ladder) if b <= a]
    leading = [answer for answer in accepted if answer.leading]
    wrong_winner = []
    if leading:
        best = max(leading, key=lambda answer: answer.amount_cents)
        if (leader, price_cents) != (best.bidder, best.amount_cents):
            wrong_winner.append(((leader, price_cents), (best.bidder, best.amount_cents)))
    copies = defaultdict(set)
    for answer in answers:
        copies[(answer.bidder, answer.key)].add(
            (answer.ok, answer.code, answer.bid_id, answer.version, answer.message)
        )
    retry_differs = [key for key, told in copies.items() if len(told) > 1]
    by_version = sorted({(a.version, a.amount_cents) for a in leading})
    version_order = [(a, b) for a, b in itertools.pairwise(by_version) if b[1] <= a[1]]
    return {
        "lost": lost,
        "falling": falling,
        "wrong_winner": wrong_winner,
        "retry_differs": retry_differs,
        "version_order": version_order,
    }


def history_ok(violations: dict[str, list]) -> bool:
    return not any(violations.values())
