"""Real threads on PostgreSQL: the auction row lock serializes bids and closing."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from auctions import selectors
from auctions.models import Auction, AuctionEvent, Bid
from auctions.services.bidding import bid_place
from auctions.services.closing import auction_close, auctions_sweep
from auctions.services.starting import auction_start
from bazaar.errors import Conflict
from bazaar.idempotency import new_key
from tests.auctions.test_services import after_end
from tests.auctions.test_views import HTMX, start_form
from tests.conftest import race

BIDDERS = 20
TRIES = 6


def run_threads(target, arguments) -> None:
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_bidders_racing_lose_no_bid_and_one_winner_is_charged_once(
    require_postgres, make_auction, make_bidder, cards
):
    auction = make_auction(start=1000, reserve=2000, seconds=600)
    bidders = [make_bidder(f"racer{n:02d}") for n in range(BIDDERS)]
    start = threading.Barrier(BIDDERS)
    acknowledged: list[tuple[str, str, int]] = []  # (bid id, bidder, amount)
    refused: list[str] = []
    lock = threading.Lock()

    def race(bidder):
        chance = random.Random(bidder.pk)
        try:
            start.wait()
            for _ in range(TRIES):
                seen = Auction.objects.get(pk=auction.pk)
                price = seen.price_cents or seen.start_cents
                amount = price + chance.choice([0, 100, 200, 300])
                maximum = amount + chance.choice([0, 0, 500]) or None
                try:
                    outcome = bid_place(
                        bidder=bidder,
                        auction=auction,
                        amount_cents=amount,
                        max_cents=maximum,
                        idempotency_key=new_key(),
                    )
                except Conflict as error:
                    with lock:
                        refused.append(error.code)
                    continue
                with lock:
                    acknowledged.append((outcome.bid.public_id, bidder.handle, amount))
        finally:
            connection.close()

    run_threads(race, bidders)

    # Every acknowledged bid is stored, as acknowledged.
    assert acknowledged, "no bid got through"
    stored = dict(Bid.objects.values_list("public_id", "bidder__handle"))
    assert all(stored.get(bid_id) == handle for bid_id, handle, _ in acknowledged)
    assert set(refused) <= {"bid_too_low", "already_leading"}
    assert len(acknowledged) + len(refused) == BIDDERS * TRIES
    # The high bids only rise, and the auction shows the last of them.
    ladder = list(
        Bid.objects.filter(leading=True).order_by("id").values_list("amount_cents", flat=True)
    )
    assert ladder == sorted(set(ladder))
    final = Auction.objects.select_related("leader").get(pk=auction.pk)
    assert final.price_cents == ladder[-1]
    assert final.bid_count == Bid.objects.exclude(kind=Bid.Kind.MAX, leading=False).count()

    # Two sweeps race to close it: exactly one closes, one winner, charged once.
    now = after_end(final)
    sweeps = threading.Barrier(2)
    results = []

    def sweep(_):
        try:
            sweeps.wait()
            results.append(auctions_sweep(now=now))
        finally:
            connection.close()

    run_threads(sweep, range(2))
    closed = Auction.objects.select_related("winner").get(pk=auction.pk)
    assert sum(result["closed"] for result in results) == 1
    assert sum(result["charged"] for result in results) == 1
    assert closed.status == Auction.Status.SETTLED and closed.winner == final.leader
    assert AuctionEvent.objects.filter(auction=auction, to_status=Auction.Status.ENDED).count() == 1
    assert cards.charges == [(f"auction:{auction.public_id}:1", final.leader.handle, ladder[-1])]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sweep_waiting_for_the_lock_rereads_the_end_a_bid_moved(
    require_postgres, make_auction, make_bidder
):
    """A bid holding the lock at the end moves it (soft close); the sweep that waited
    for the lock then finds the auction still running."""
    auction = make_auction(seconds=60)
    alice = make_bidder("alice")
    planned_close = after_end(auction)
    holding, release = threading.Event(), threading.Event()
    closed = []

    def late_bid(_):
        from django.db import transaction

        try:
            with transaction.atomic():
                Auction.objects.select_for_update().get(pk=auction.pk)
                holding.set()
                release.wait(timeout=10)
                bid_place(
                    bidder=alice,
                    auction=auction,
                    amount_cents=1000,
                    idempotency_key=new_key(),
                    arrived_at=auction.ends_at - timedelta(seconds=1),
                )
        finally:
            connection.close()

    def sweeper(_):
        try:
            holding.wait(timeout=10)
            threading.Timer(0.3, release.set).start()
            closed.append(auction_close(auction_id=auction.pk, now=planned_close))
        finally:
            connection.close()

    run_threads(lambda job: job(None), [late_bid, sweeper])
    assert closed == [None]
    assert Auction.objects.get(pk=auction.pk).status == Auction.Status.LIVE


REPEATS = 6


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bid_key_repeated_while_the_first_is_in_flight_gets_the_first_answer(
    require_postgres, auction, make_bidder, key
):
    """Six copies of one bid, released together: one bid row, six identical answers
    (none told "already leading" by its own first copy)."""
    alice = make_bidder("alice")
    same = key()

    def place():
        return bid_place(bidder=alice, auction=auction, amount_cents=1000, idempotency_key=same)

    outcomes = race(*[place] * REPEATS)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert {(o.bid.public_id, o.message) for o in outcomes} == {
        (outcomes[0].bid.public_id, "You are the high bidder at $10.00.")
    }
    assert Bid.objects.count() == 1 and Auction.objects.get(pk=auction.pk).bid_count == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_bid_post_repeated_while_the_first_is_in_flight_gets_the_first_answer(
    require_postgres, auction, make_bidder, key
):
    from django.test import Client

    alice = make_bidder("alice")
    same = key()

    def post():
        client = Client()
        client.force_login(alice)
        response = client.post(
            f"/auctions/{auction.public_id}/bids",
            {"amount": "10.00"},
            HTTP_ACCEPT="application/json",
            HTTP_IDEMPOTENCY_KEY=same,
        )
        return response.status_code, response.json()["message"], response.json().get("bid")

    answers = race(*[post] * REPEATS)
    assert len(set(map(repr, answers))) == 1, answers
    assert answers[0][0] == 200 and Bid.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_with_copies_of_keys_in_flight_passes_the_history_check(
    require_postgres, auction, make_bidder, key
):
    """Jepsen's manner: what each bidder was told, against the rows at the end."""
    from bench._history import Answer, StoredBid, check_history

    bidders = [make_bidder(f"hist{n:02d}") for n in range(10)]
    told: list[Answer] = []
    lock = threading.Lock()

    def bidder_burst(bidder, offset):
        def burst():
            for round_ in range(4):
                same = key()
                amount = 1000 + 100 * (4 * offset + round_)
                copies = race(
                    *[
                        lambda same=same, amount=amount: bid_place(
                            bidder=bidder,
                            auction=auction,
                            amount_cents=amount,
                            idempotency_key=same,
                        )
                    ]
                    * 2
                )
                with lock:
                    told.extend(_answer(bidder, same, copy) for copy in copies)

        return burst

    race(*[bidder_burst(bidder, n) for n, bidder in enumerate(bidders)])
    rows = Bid.objects.filter(auction=auction).order_by("id").select_related("bidder")
    stored = [StoredBid(b.public_id, b.bidder.handle, b.amount_cents, b.leading) for b in rows]
    final = Auction.objects.select_related("leader").get(pk=auction.pk)
    assert len(told) == 80 and any(answer.ok for answer in told)
    assert not any(isinstance(answer, Exception) for answer in told)
    violations = check_history(told, stored, final.leader.handle, final.price_cents)
    assert not any(violations.values()), violations


def _answer(bidder, key, outcome):
    from bench._history import Answer

    if isinstance(outcome, Conflict):
        return Answer(bidder.handle, key, False, code=outcome.code, message=outcome.message)
    if isinstance(outcome, Exception):
        return outcome
    return Answer(
        bidder.handle,
        key,
        True,
        bid_id=outcome.bid.public_id,
        amount_cents=outcome.bid.amount_cents,
        version=outcome.version,
        message=outcome.message,
        leading=outcome.bid.leading,
    )


# The same start sent twice at once (a double click on the dashboard's panel)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_dashboard_start_sent_twice_at_once_gets_the_first_answer(
    require_postgres, make_auction, item
):
    """The last unit: the repeat, blocked on the first's hold, must not answer "none is
    free" but return the auction the first started."""
    key = new_key()
    seller = item.stall.seller.user

    def start():
        return auction_start(
            actor=seller,
            item=item,
            start_cents=1000,
            reserve_cents=None,
            buy_now_cents=None,
            duration=timedelta(minutes=5),
            idempotency_key=key,
        )

    first, second = race(start, start)
    assert isinstance(first, Auction) and first == second, (first, second)
    assert Auction.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_panel_posted_twice_at_once_says_started_to_both(require_postgres, item):
    """Through the view: the repeat may arrive once the unit is held (the form then has
    no item to offer); it is answered as the first was."""
    form = start_form(item)

    def post():
        browser = Client()
        browser.force_login(item.stall.seller.user)
        return browser.post(reverse("auctions:dashboard"), form, **HTMX)

    outcomes = race(post, post)
    for response in outcomes:
        assert response.status_code == 200, response
        assert "Your auction of “Brass lamp” is up." in response.content.decode()
    assert Auction.objects.count() == 1


@pytest.mark.django_db
def test_a_repeat_whose_first_commits_while_it_reads_the_items_says_started(
    client, item, monkeypatch
):
    """The race above, made certain: the first request commits while its repeat reads
    the items, so the unit is gone from the repeat's form. (When the repeat asked for
    its key before reading the items, it was told 400, "not a valid choice".)"""
    form = start_form(item)
    seller = item.stall.seller.user
    items_to_auction = selectors.items_to_auction

    def first_commits_meanwhile(*, stall):
        monkeypatch.setattr(selectors, "items_to_auction", items_to_auction)
        first = Client()
        first.force_login(seller)
        assert first.post(reverse("auctions:dashboard"), form, **HTMX).status_code == 200
        return items_to_auction(stall=stall)

    monkeypatch.setattr(selectors, "items_to_auction", first_commits_meanwhile)
    client.force_login(seller)
    response = client.post(reverse("auctions:dashboard"), form, **HTMX)
    assert response.status_code == 200
    assert "Your auction of “Brass lamp” is up." in response.content.decode()
    assert Auction.objects.count() == 1


@pytest.mark.django_db
def test_the_panel_posted_again_later_says_started_again(client, item):
    form = start_form(item)
    client.force_login(item.stall.seller.user)
    first = client.post(reverse("auctions:dashboard"), form, **HTMX).content.decode()
    again = client.post(reverse("auctions:dashboard"), form, **HTMX).content.decode()
    assert "Your auction of “Brass lamp” is up." in first and "is up." in again
    assert Auction.objects.count() == 1
