"""loadtest/history.py's check catches what it is there to catch: an acknowledged bid,
offer action, chat message, payment or receipt the database does not hold, an auction
paid twice, too few completed orders. Fed doctored histories; no database."""

import copy

import pytest

from loadtest.history import check

AUCTION = "01AUCTION0000000000000000A"


def bid(bidder, key, bid_id, amount, version, *, ok=True, code=""):
    return {
        "kind": "bid", "auction": AUCTION, "bidder": bidder, "key": key, "ok": ok,
        "code": code, "bid_id": bid_id, "amount_cents": amount, "version": version,
        "message": "", "leading": ok, "sent": 1.0, "at": 1.1,
    }  # fmt: skip


HISTORY = [
    bid("ann", "k1", "B1", 500, 2),
    bid("bob", "k2", "B2", 600, 3),
    bid("bob", "k2", "B2", 600, 3),  # the same key sent again: told the same
    bid("ann", "k3", "", 0, 0, ok=False, code="bid_too_low"),
    {"kind": "offer", "actor": "ann", "key": "o1", "action": "make", "offer": "OF1"},
    {"kind": "offer", "actor": "sam", "key": "o2", "action": "accept", "offer": "OF1"},
    {"kind": "chat", "author": "bob", "id": "CH1", "text": "hello"},
    {"kind": "payment", "buyer": "ann", "payment": "PAY1"},
    {"kind": "received", "buyer": "ann", "order": "ORD1"},
]
STORED = {
    "auctions": {
        AUCTION: {
            "status": "settled",
            "closed": True,
            "leader": "bob",
            "price": 600,
            "bids": [["B1", "ann", 500, True], ["B2", "bob", 600, True]],
        }
    },
    "closed_auctions": {AUCTION: {"status": "settled", "paid_orders": 1, "to_winner": 1}},
    "offer_events": {("ann", "o1", "OF1"), ("sam", "o2", "OF1")},
    "chats": {"CH1": ("bob", "hello")},
    "payments": {
        "PAY1": {"status": "paid", "buyer": "ann", "charges": 1, "orders": 1, "unpaid_orders": 0}
    },
    "orders": {"ORD1": "released"},
    "completed_orders": 3,
}


def checked(stored=STORED, history=HISTORY, min_completed=2):
    return check(history, stored, min_completed=min_completed)


def test_a_clean_history_passes():
    result = checked()
    assert result["ok"], result["violations"]
    assert result["checked"] == {"bid": 4, "chat": 1, "offer": 2, "payment": 1, "received": 1}


def test_a_lost_acknowledged_bid_is_caught():
    stored = copy.deepcopy(STORED)
    stored["auctions"][AUCTION]["bids"].pop()  # bob's acknowledged bid is not stored
    stored["auctions"][AUCTION].update(leader="ann", price=500)
    result = checked(stored)
    assert not result["ok"]
    assert result["violations"]["bid_lost"] == [(AUCTION, "B2")]


def test_a_lost_order_is_caught():
    """A payment answered as paid whose order is gone, or that was charged twice."""
    for change in ({"orders": 0}, {"charges": 2}, {"status": "open"}, {"unpaid_orders": 1}):
        stored = copy.deepcopy(STORED)
        stored["payments"]["PAY1"].update(change)
        result = checked(stored)
        assert result["violations"]["payment_lost"] == ["PAY1"], change
    stored = copy.deepcopy(STORED)
    del stored["payments"]["PAY1"]
    assert checked(stored)["violations"]["payment_lost"] == ["PAY1"]


@pytest.mark.parametrize(
    ("where", "change", "violation"),
    [
        ("offer_events", lambda events: events.discard(("sam", "o2", "OF1")), "offer_lost"),
        ("chats", lambda chats: chats.update(CH1=("bob", "hullo")), "chat_lost"),
        ("orders", lambda orders: orders.update(ORD1="shipped"), "receipt_lost"),
        (
            "closed_auctions",
            lambda closed: closed[AUCTION].update(paid_orders=2, to_winner=2),
            "winners",
        ),
        (
            "closed_auctions",
            lambda closed: closed[AUCTION].update(paid_orders=1, to_winner=0),
            "winners",
        ),
    ],
)
def test_each_other_loss_is_caught(where, change, violation):
    stored = copy.deepcopy(STORED)
    change(stored[where])
    result = checked(stored)
    assert not result["ok"] and list(result["violations"]) == [violation]


def test_a_wrong_winner_and_a_retry_told_otherwise_are_caught():
    stored = copy.deepcopy(STORED)
    stored["auctions"][AUCTION].update(leader="ann", price=500)
    history = [*HISTORY[:2], {**HISTORY[2], "ok": False, "code": "auction_ended"}, *HISTORY[3:]]
    violations = checked(stored, history)["violations"]
    assert violations["bid_wrong_winner"][0][0] == AUCTION
    assert violations["bid_retry_differs"] == [(AUCTION, ("bob", "k2"))]


def test_too_few_completed_orders_fail_the_run():
    result = checked(min_completed=50)
    assert not result["ok"] and result["violations"] == {"too_few_completed": [3]}
