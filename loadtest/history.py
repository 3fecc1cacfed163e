"""Market Day's history: what each client was told (written by the Locust users as
JSON lines), and the check of it against the database at the end, in Jepsen's manner.

A history line is one acknowledged thing, as its client was told it:

- `bid`: a `bid_ack` (accepted or refused) on an auction's socket, with its key;
- `offer`: an `offer_ack` that was ok (make, counter, accept) with its key and offer;
- `chat`: a `chat_ack`, the message's id and text;
- `payment`: a checkout the payment page answered as paid;
- `received`: an order whose receipt the buyer confirmed;
- `live`: a seller's socket joined their stall's room (counted, nothing to check).

`stored_state` reads what the database holds of those (and of every closed auction);
`check` compares the two without a database, so a doctored history or state can be
fed to it (tests/loadtest).
"""

import json
from collections import defaultdict
from pathlib import Path

from bench._history import Answer, StoredBid, check_history

# What a completed order is: the buyer confirmed receipt and escrow released it.
COMPLETED = ("received", "released")
# An auction that has closed with a winner being charged or paid.
WON = ("ended", "settled")


def read_history(path: Path) -> list[dict]:
    """Every line of the history file(s): `path` and any `path.N` beside it (one per
    Locust process)."""
    lines = []
    for part in sorted(path.parent.glob(f"{path.name}*")):
        lines += [json.loads(line) for line in part.read_text().splitlines() if line.strip()]
    return lines


def _by_kind(history: list[dict]) -> dict[str, list[dict]]:
    kinds = defaultdict(list)
    for line in history:
        kinds[line["kind"]].append(line)
    return kinds


def check(history: list[dict], stored: dict, *, min_completed: int) -> dict:
    """Every rule the run broke (lists of examples; empty: none), the counts checked,
    and `ok`."""
    kinds = _by_kind(history)
    violations = {
        **_bids(kinds["bid"], stored),
        "offer_lost": [
            (line["actor"], line["key"])
            for line in kinds["offer"]
            if (line["actor"], line["key"], line["offer"]) not in stored["offer_events"]
        ],
        "chat_lost": [
            line["id"]
            for line in kinds["chat"]
            if stored["chats"].get(line["id"]) != (line["author"], line["text"])
        ],
        "payment_lost": [
            line["payment"]
            for line in kinds["payment"]
            if not _paid_once(stored["payments"].get(line["payment"]), line["buyer"])
        ],
        "receipt_lost": [
            line["order"]
            for line in kinds["received"]
            if stored["orders"].get(line["order"]) not in COMPLETED
        ],
        "winners": [
            (auction, closed)
            for auction, closed in stored["closed_auctions"].items()
            if closed["paid_orders"] > 1
            or closed["paid_orders"] != closed["to_winner"]
            or (closed["status"] == "settled" and closed["paid_orders"] != 1)
        ],
    }
    completed = stored["completed_orders"]
    if completed < min_completed:
        violations["too_few_completed"] = [completed]
    return {
        "ok": not any(violations.values()),
        "checked": {kind: len(lines) for kind, lines in sorted(kinds.items())},
        "closed_auctions": len(stored["closed_auctions"]),
        "completed_orders": completed,
        "violations": {name: found[:5] for name, found in violations.items() if found},
    }


def _paid_once(payment: dict | None, buyer: str) -> bool:
    """Paid, by that buyer, with exactly one charge and at least one order paid for."""
    return (
        payment is not None
        and payment["status"] == "paid"
        and payment["buyer"] == buyer
        and payment["charges"] == 1
        and payment["orders"] >= 1
        and payment["unpaid_orders"] == 0
    )


def _bids(lines: list[dict], stored: dict) -> dict[str, list]:
    """bench/_history.py's check per auction: every accepted bid stored as told, the high
    bid only rising, the leader the highest accepted, every copy of a key told alike."""
    per_auction = defaultdict(list)
    for line in lines:
        fields = {key: line[key] for key in Answer.__dataclass_fields__ if key in line}
        per_auction[line["auction"]].append(Answer(**fields))
    found: dict[str, list] = defaultdict(list)
    for auction, answers in per_auction.items():
        state = stored["auctions"].get(auction, {"bids": [], "leader": None, "price": None})
        bids = [StoredBid(*row) for row in state["bids"]]
        for name, examples in check_history(answers, bids, state["leader"], state["price"]).items():
            found[f"bid_{name}"] += [(auction, example) for example in examples]
    return {
        name: found[name]
        for name in ("bid_lost", "bid_falling", "bid_wrong_winner", "bid_retry_differs")
    } | {"bid_version_order": found["bid_version_order"]}


def stored_state(database_url: str, history: list[dict], *, since: str) -> dict:
    """What the database holds of the history's ids, every auction a bid was told
    about, and the orders completed since `since` (ISO 8601, the run's start)."""
    import psycopg

    kinds = _by_kind(history)
    auctions = sorted({line["auction"] for line in kinds["bid"]})
    with psycopg.connect(database_url) as db:
        return {
            "auctions": _auctions(db, auctions),
            "closed_auctions": _closed_auctions(db, since),
            "offer_events": {
                tuple(row)
                for row in db.execute(
                    "SELECT u.handle, e.idempotency_key, o.public_id FROM offers_offerevent e "
                    "JOIN accounts_user u ON u.id = e.actor_id JOIN offers_offer o "
                    "ON o.id = e.offer_id WHERE e.idempotency_key = ANY(%s)",
                    ([line["key"] for line in kinds["offer"]],),
                )
            },
            "chats": {
                public_id: (author, text)
                for public_id, author, text in db.execute(
                    "SELECT m.public_id, u.handle, m.text FROM stalls_chatmessage m "
                    "JOIN accounts_user u ON u.id = m.author_id WHERE m.public_id = ANY(%s)",
                    ([line["id"] for line in kinds["chat"]],),
                )
            },
            "payments": _payments(db, [line["payment"] for line in kinds["payment"]]),
            "orders": dict(
                db.execute(
                    "SELECT public_id, status FROM orders_order WHERE public_id = ANY(%s)",
                    ([line["order"] for line in kinds["received"]],),
                ).fetchall()
            ),
            "completed_orders": db.execute(
                "SELECT count(*) FROM orders_order WHERE status = ANY(%s) AND created_at >= %s",
                (list(COMPLETED), since),
            ).fetchone()[0],
        }


def _auctions(db, public_ids: list[str]) -> dict[str, dict]:
    found = {}
    rows = db.execute(
        "SELECT a.id, a.public_id, a.status, a.closed_at IS NOT NULL, u.handle, a.price_cents "
        "FROM auctions_auction a LEFT JOIN accounts_user u ON u.id = a.leader_id "
        "WHERE a.public_id = ANY(%s)",
        (public_ids,),
    ).fetchall()
    for pk, public_id, status, closed, leader, price in rows:
        bids = db.execute(
            "SELECT b.public_id, u.handle, b.amount_cents, b.leading FROM auctions_bid b "
            "JOIN accounts_user u ON u.id = b.bidder_id WHERE b.auction_id = %s ORDER BY b.id",
            (pk,),
        ).fetchall()
        found[public_id] = {
            "status": status,
            "closed": closed,
            "leader": leader,
            "price": price,
            "bids": [list(bid) for bid in bids],
        }
    return found


def _closed_auctions(db, since: str) -> dict[str, dict]:
    """Per auction closed with a winner since `since`: its status, its paid orders
    (an order per charge attempt names it in `reference`) and how many are the winner's."""
    rows = db.execute(
        "SELECT a.public_id, a.status, "
        "count(o.id) FILTER (WHERE o.status NOT IN ('pending_payment', 'cancelled')), "
        "count(o.id) FILTER (WHERE o.status NOT IN ('pending_payment', 'cancelled') "
        " AND o.buyer_id = a.winner_id) "
        "FROM auctions_auction a LEFT JOIN orders_order o "
        "ON o.reference LIKE 'auction:' || a.public_id || ':%%' "
        "WHERE a.closed_at >= %s AND a.status = ANY(%s) GROUP BY a.public_id, a.status",
        (since, list(WON)),
    ).fetchall()
    return {
        public_id: {"status": status, "paid_orders": paid, "to_winner": to_winner}
        for public_id, status, paid, to_winner in rows
    }


def _payments(db, public_ids: list[str]) -> dict[str, dict]:
    rows = db.execute(
        "SELECT p.public_id, p.status, u.handle, p.payment_intent_id, "
        "(SELECT count(*) FROM orders_order o WHERE o.payment_id = p.id), "
        "(SELECT count(*) FROM orders_order o WHERE o.payment_id = p.id "
        " AND o.status IN ('pending_payment', 'cancelled')), "
        "(SELECT count(*) FROM orders_testgatewayobject g WHERE g.kind = 'payment_intent' "
        " AND g.data -> 'metadata' ->> 'payment' = p.public_id) "
        "FROM orders_payment p JOIN accounts_user u ON u.id = p.buyer_id "
        "WHERE p.public_id = ANY(%s)",
        (public_ids,),
    ).fetchall()
    return {
        public_id: {
            "status": status,
            "buyer": buyer,
            "charges": charges,
            "orders": orders,
            "unpaid_orders": unpaid,
        }
        for public_id, status, buyer, _intent, orders, unpaid, charges in rows
    }
