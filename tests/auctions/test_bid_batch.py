"""Group commit of bids: a batch resolved in arrival order in one transaction under
one lock, one version and one set of rows per accepted bid, one broadcast."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auctions.models import Auction, Bid, BidRefusal
from auctions.services import bidding
from auctions.services.bid_batch import BidOutcome, BidRequest, bids_write
from bazaar.errors import Conflict, DomainError
from notifications.models import Notice
from tests.conftest import cyclic_garbage, frames_of, race

pytestmark = pytest.mark.django_db


def request(bidder, amount, *, maximum=None, key=None, after=0.0, base=None):
    return BidRequest(
        bidder=bidder,
        amount_cents=amount,
        max_cents=maximum,
        idempotency_key=key or f"key-{bidder.handle}-{amount}-{after}".ljust(16, "0"),
        arrived_at=(base or timezone.now()) + timedelta(milliseconds=after),
    )


def test_a_batch_is_resolved_in_arrival_order_under_one_lock_bid_by_bid(
    auction, make_bidder, django_capture_on_commit_callbacks, monkeypatch
):
    published, recorded = [], []
    monkeypatch.setattr("auctions.frames.broadcast_on_commit", lambda *a: published.append(a))
    monkeypatch.setattr("auctions.services.bid_batch.record_many", lambda *a: recorded.append(a))
    alice, bob, carol = (make_bidder(h) for h in ("alice", "bob", "carol"))
    now = timezone.now()
    batch = [  # queued out of order: arrival decides
        request(carol, 1600, after=3, base=now),
        request(alice, 1000, maximum=1500, after=1, base=now),
        request(bob, 1200, after=2, base=now),
        request(bob, 1100, after=4, base=now),  # too low by then
    ]
    with (
        django_capture_on_commit_callbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        answers = bids_write(auction.pk, batch)
    carol_answer, alice_answer, bob_answer, late = answers
    assert alice_answer.bid.leading and alice_answer.version == auction.version + 1
    # Bob's 12.00 meets Alice's proxy, which answers at 13.00: both rows under one version.
    assert not bob_answer.bid.leading and bob_answer.version == auction.version + 2
    assert carol_answer.bid.leading and carol_answer.version == auction.version + 3
    assert carol_answer.auction.price_cents == 1600 and alice_answer.auction.price_cents == 1000
    assert isinstance(late, Conflict) and late.code == "bid_too_low"
    rows = list(Bid.objects.order_by("id").values_list("bidder__handle", "amount_cents", "version"))
    assert rows == [
        ("alice", 1000, auction.version + 1),
        ("bob", 1200, auction.version + 2),
        ("alice", 1300, auction.version + 2),
        ("alice", 1500, auction.version + 3),
        ("carol", 1600, auction.version + 3),
    ]
    stored = Auction.objects.get(pk=auction.pk)
    assert (stored.version, stored.price_cents, stored.leader_id) == (
        auction.version + 3,
        1600,
        carol.pk,
    )
    assert stored.bid_count == 5
    # The auction row is read (locked) once and written once, the bids inserted at once.
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(s.startswith("SELECT") and 'FROM "auctions_auction"' in s for s in sql) == 1
    assert sum(s.startswith('UPDATE "auctions_auction"') for s in sql) == 1
    assert sum(s.startswith('INSERT INTO "auctions_bid"') for s in sql) == 1
    # The item each bid is recorded against comes with the lock, not a query of its own.
    assert not any(s.startswith('SELECT "stalls_item"') for s in sql)
    # One broadcast for the batch; Alice, who led in it, hears she was outbid.
    (frame,) = [event["frame"] for _, event in published]
    assert f'"version": {auction.version + 3}' in frame
    assert Notice.objects.filter(recipient=alice).count() == 1
    assert not Notice.objects.filter(recipient__in=[bob, carol]).exists()
    # Analytics hear of the three bids placed in one record, not one each.
    ((kind, events),) = recorded
    assert kind == "bid_placed"
    assert [(e["user"], e["amount_cents"]) for e in events] == [
        (alice, 1000),
        (bob, 1200),
        (carol, 1600),
    ]


def test_a_key_twice_in_a_batch_or_across_batches_gets_its_first_answer(auction, make_bidder):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    now = timezone.now()
    same = request(alice, 1000, key="alice-key-0000000001", base=now)
    first, again = bids_write(
        auction.pk, [same, request(alice, 1000, key=same.idempotency_key, after=1, base=now)]
    )
    assert again is first
    refused_key = "bob-key-000000000001"
    (too_low,) = bids_write(auction.pk, [request(bob, 500, key=refused_key)])
    assert BidRefusal.objects.get().code == "bid_too_low"
    # The same keys later: the first answers, not a fresh verdict.
    (repeat,) = bids_write(auction.pk, [request(alice, 1000, key=same.idempotency_key)])
    assert isinstance(repeat, BidOutcome) and repeat.bid == first.bid
    assert repeat.version == first.version
    (refusal,) = bids_write(auction.pk, [request(bob, 500, key=refused_key)])
    assert (refusal.code, refusal.message) == (too_low.code, too_low.message)
    assert Bid.objects.count() == 1


def test_a_batch_of_refusals_writes_nothing_and_announces_nothing(
    auction, make_bidder, django_capture_on_commit_callbacks, monkeypatch
):
    published = []
    monkeypatch.setattr("auctions.frames.broadcast_on_commit", lambda *a: published.append(a))
    alice = make_bidder("alice")
    with django_capture_on_commit_callbacks(execute=True):
        (answer,) = bids_write(auction.pk, [request(alice, 100)])
    assert isinstance(answer, DomainError)
    assert published == [] and Auction.objects.get(pk=auction.pk).version == auction.version


def test_soft_close_applies_bid_by_bid_within_a_batch(auction, make_bidder):
    alice, bob = make_bidder("alice"), make_bidder("bob")
    end = auction.ends_at
    late = [
        request(alice, 1000, base=end - timedelta(seconds=5)),
        request(bob, 1100, base=end + timedelta(seconds=5)),  # after the old end, before the new
    ]
    _, second = bids_write(auction.pk, late)
    assert isinstance(second, BidOutcome)
    assert Auction.objects.get(pk=auction.pk).ends_at == end + timedelta(seconds=20)


BURST = 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bids_racing_in_are_written_in_fewer_batches_than_bids_and_all_answered(
    require_postgres, auction, make_bidder, key, monkeypatch
):
    bidders = [make_bidder(f"burst{n:02d}") for n in range(BURST)]
    sizes = []
    write = bidding._batches._write

    def recorded(auction_id, take):
        def taking():
            requests = take()
            sizes.append(len(requests))
            return requests

        return write(auction_id, taking)

    monkeypatch.setattr(bidding._batches, "_write", recorded)
    calls = [
        (
            lambda b=b, n=n: bidding.bid_place(
                bidder=b, auction=auction, amount_cents=1000 + 100 * n, idempotency_key=key()
            )
        )
        for n, b in enumerate(bidders)
    ]
    answers = race(*calls)
    assert sum(sizes) == BURST and len(sizes) < BURST, sizes
    accepted = [a for a in answers if isinstance(a, BidOutcome)]
    assert all(isinstance(a, BidOutcome | Conflict) for a in answers), answers
    assert len({a.version for a in accepted}) == len(accepted)
    assert Bid.objects.filter(idempotency_key__gt="").count() == len(accepted)


def test_whether_bidders_can_pay_and_ship_is_asked_once_per_batch(auction, make_bidder, make_user):
    """The card and address checks are the batch's, for all its bidders at once: a
    batch of ten costs the statements a batch of one does, and a bidder who cannot
    pay or ship is refused in place while the others' bids stand."""
    from orders.models import ShippingAddress

    now = timezone.now()

    def statements(batch) -> int:
        with CaptureQueriesContext(connection) as queries:
            bids_write(auction.pk, batch)
        return len(queries)

    one = statements([request(make_bidder("solo"), 1000, base=now)])
    ten = statements(
        [request(make_bidder(f"many{n}"), 1100 + 100 * n, after=n, base=now) for n in range(10)]
    )
    assert ten == one

    no_card = make_user("nocard")
    no_address = make_bidder("noaddress")
    ShippingAddress.objects.filter(buyer=no_address).delete()
    answers = bids_write(
        auction.pk,
        [
            request(no_card, 5000, base=now),
            request(no_address, 5000, after=1, base=now),
            request(make_bidder("ready"), 5000, after=2, base=now),
        ],
    )
    assert isinstance(answers[0], Conflict) and answers[0].code == "payment_method_required"
    assert isinstance(answers[1], Conflict) and answers[1].code == "address_required"
    assert isinstance(answers[2], BidOutcome) and answers[2].bid.leading


def test_a_batch_counts_its_new_decisions_for_metrics_once_committed(
    auction, make_bidder, django_capture_on_commit_callbacks
):
    from prometheus_client import REGISTRY

    def counted(outcome: str) -> float:
        return REGISTRY.get_sample_value("bazaar_bids_total", {"outcome": outcome}) or 0.0

    alice, bob = make_bidder("alice"), make_bidder("bob")
    first = request(alice, 1000)
    before = counted("accepted"), counted("refused")

    with django_capture_on_commit_callbacks(execute=True):
        bids_write(auction.pk, [first, request(bob, 900), first])  # the retry is no new decision

    assert (counted("accepted"), counted("refused")) == (before[0] + 1, before[1] + 1)


def test_a_bidder_past_the_pace_is_told_to_slow_down_and_a_retry_keeps_its_answer(
    auction, make_bidder, settings
):
    settings.BID_PACE = (3, 10)
    alice = make_bidder("alice")
    now = timezone.now()
    bids = [request(alice, 1000 + 100 * n, after=n, base=now) for n in range(4)]

    answers = bids_write(auction.pk, bids)
    retry = bids_write(auction.pk, [bids[0]])

    assert all(not isinstance(answer, DomainError) for answer in answers[:3])
    assert answers[3].status == 429 and answers[3].retry_after == 10
    assert "Too many bids too fast: at most 3 every 10 seconds" in answers[3].message
    assert Bid.objects.filter(bidder=alice).count() == 3
    assert retry[0].bid.pk == answers[0].bid.pk, "a retry is told its first answer"
    later = request(alice, 2000, base=now + timedelta(seconds=11))
    assert not isinstance(bids_write(auction.pk, [later])[0], DomainError)


def test_a_bidder_past_the_pace_after_the_end_is_told_it_ended_not_to_slow_down(
    auction, make_bidder, settings
):
    settings.BID_PACE = (1, 10**7)  # the in-time bid still counts at the late one
    alice = make_bidder("alice")
    in_time = request(alice, 1000)
    late = request(alice, 2000, base=auction.ends_at + timedelta(seconds=1))

    answers = bids_write(auction.pk, [in_time, late])

    assert not isinstance(answers[0], DomainError)
    assert answers[1].code == "auction_ended"
    assert "your bid arrived after the end" in answers[1].message


def test_a_refused_bid_leaves_no_reference_cycle(auction, make_bidder):
    """A refusal kept its traceback, whose frame held the batch's answers and so the
    refusal: a cycle per refused bid, which the collector's full passes freed in
    pauses of 115-140 ms a second during a burst (docs/decisions.md)."""
    alice, bob = make_bidder("alice"), make_bidder("bob")
    with cyclic_garbage() as left:
        answers = bids_write(auction.pk, [request(alice, 1000), request(bob, 900, after=1)])
        assert answers[1].code == "bid_too_low"
        del answers
    assert frames_of(left, "auctions/") == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bid_waiting_for_its_batch_holds_no_pooled_connection(
    require_postgres, auction, make_bidder, key, monkeypatch
):
    """A hundred bids by POST waiting for their batches held every pooled connection."""
    bidder = make_bidder("alice")
    holding = []
    run = bidding._batches.run

    def noting(auction_id, request):
        holding.append(connection.connection is not None)
        return run(auction_id, request)

    monkeypatch.setattr(bidding._batches, "run", noting)
    connection.ensure_connection()
    bidding.bid_place(bidder=bidder, auction=auction, amount_cents=1000, idempotency_key=key())
    assert holding == [False]
    assert Bid.objects.filter(bidder=bidder).exists()


@pytest.mark.django_db(transaction=True)
def test_a_batchs_after_commit_work_runs_once_its_bidders_have_their_answers(
    auction, make_bidder, key, monkeypatch
):
    """The watchers' frame, the outbid notice's job and analytics follow the commit as
    before, but the bidders' answers do not wait for them."""
    alice, bob = make_bidder("alice"), make_bidder("bob")
    tickets, broadcasts = [], []
    submit = bidding._batches.submit

    def submitted(auction_id, request):
        tickets.append(submit(auction_id, request))
        return tickets[-1]

    monkeypatch.setattr(bidding._batches, "submit", submitted)
    monkeypatch.setattr(
        "bazaar.broadcast.broadcast_now",
        lambda group, event: broadcasts.append(all(t.done.done() for t in tickets)),
    )
    for bidder, amount in ((alice, 1000), (bob, 1500)):
        bidding.bid_place(
            bidder=bidder, auction=auction, amount_cents=amount, idempotency_key=key()
        )
    assert broadcasts and all(broadcasts)  # the bids' frames and the notice's
    assert Notice.objects.filter(recipient=alice).count() == 1  # outbid, by a job after commit
    assert not Notice.objects.filter(recipient=bob).exists()


@pytest.mark.django_db(transaction=True)
def test_after_commit_work_that_fails_leaves_the_bidders_answer_as_committed(
    auction, make_bidder, key, monkeypatch, caplog
):
    """The bid stands once committed: a broadcast that cannot reach the channel layer
    is logged (watchers resync from the stored state), and the bidder is told the bid
    was taken, not an error their retry would contradict."""
    alice = make_bidder("alice")

    def unreachable(group, event):
        raise ConnectionError("the channel layer is down")

    monkeypatch.setattr("bazaar.broadcast.broadcast_now", unreachable)
    outcome = bidding.bid_place(
        bidder=alice, auction=auction, amount_cents=1000, idempotency_key=key()
    )
    assert isinstance(outcome, BidOutcome) and outcome.bid.leading
    assert Bid.objects.filter(bidder=alice, amount_cents=1000).exists()
    assert "the channel layer is down" in caplog.text
