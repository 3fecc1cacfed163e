"""Auction pages and money actions over HTTP: JSON for fetch, fragments for htmx,
redirects for plain forms; the seller's panel on the dashboard."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from auctions.frames import pseudonym
from auctions.models import Auction, Bid
from auctions.services.closing import auctions_sweep
from bazaar.idempotency import new_key
from bazaar.ids import new_ulid
from tests.auctions.test_services import after_end

JSON = {"HTTP_ACCEPT": "application/json"}
HTMX = {"HTTP_HX_REQUEST": "true"}


def post_bid(client, auction, amount, *, key=None, maximum="", **headers):
    return client.post(
        reverse("auctions:bids", args=[auction.public_id]),
        {"amount": amount, "max": maximum},
        HTTP_IDEMPOTENCY_KEY=key or new_key(),
        **headers,
    )


@pytest.fixture
def bidder_client(client, make_bidder):
    def signed_in(handle, **kwargs):
        user = make_bidder(handle, **kwargs)
        client.force_login(user)
        return client

    return signed_in


# The page


@pytest.mark.django_db
def test_a_guest_sees_the_auction_and_is_asked_to_log_in(client, auction):
    page = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert "Brass lamp" in page and "Log in to bid" in page
    assert "data-bid-form" not in page
    state = json.loads(page.split('id="auction-state" type="application/json">')[1].split("<")[0])
    assert state["minimum"] == "$10.00" and "reserve_cents" not in state


@pytest.mark.django_db
def test_a_bidder_gets_the_stepper_at_the_next_minimum(bidder_client, auction, bid, make_bidder):
    alice = make_bidder("alice")
    bid(alice, 1000)
    page = bidder_client("bob").get(reverse("auctions:detail", args=[auction.public_id]))
    html = page.content.decode()
    assert 'value="$11.00"' in html and "data-bid-form" in html
    # Bidders go by their pseudonym on this auction, never their handle.
    assert pseudonym(auction, alice.pk) in html and "1 bid" in html
    assert "alice" not in html


@pytest.mark.django_db
def test_without_a_card_the_page_says_to_add_one(client, auction, make_user):
    client.force_login(make_user("cardless"))
    html = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert "Add a payment method" in html and "data-bid-form" not in html


@pytest.mark.django_db
def test_the_seller_watches_without_a_bid_form(client, auction):
    client.force_login(auction.seller)
    html = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert "This is your auction" in html and "data-bid-form" not in html


@pytest.mark.django_db
def test_an_unknown_auction_is_404(client):
    response = client.get(reverse("auctions:detail", args=[new_ulid()]))
    assert (
        response.status_code == 404 and "No auction has that address" in response.content.decode()
    )


# Bidding over HTTP


@pytest.mark.django_db
def test_a_fetch_bid_is_answered_in_json_after_commit(bidder_client, auction):
    response = post_bid(bidder_client("alice"), auction, "10", maximum="25", **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["leading"]
    assert (
        body["message"]
        == "You are the high bidder at $10.00. The system bids for you up to $25.00."
    )
    assert body["state"]["price"] == "$10.00" and body["state"]["minimum"] == "$11.00"
    assert body["bid"]["amount"] == "$10.00"
    assert Bid.objects.get().max_cents == 2500


@pytest.mark.django_db
def test_a_retried_bid_returns_the_first_answer(bidder_client, auction):
    client = bidder_client("alice")
    first = post_bid(client, auction, "10", key="retry-key-0123456789", **JSON).json()
    again = post_bid(client, auction, "10", key="retry-key-0123456789", **JSON).json()
    assert again["bid"] == first["bid"] and again["message"] == first["message"]
    assert Bid.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("amount", "key", "status", "code", "message"),
    [
        ("9.99", None, 409, "bid_too_low", "The next minimum bid is $10.00"),
        ("ten", None, 400, "amount", "Enter an amount such as 25"),
        ("", None, 400, "amount", "Enter an amount to bid"),
        ("10", "bad", 400, "idempotency_key", "idempotency key"),
    ],
)
def test_refusals_come_with_a_reason_and_the_state(
    bidder_client, auction, amount, key, status, code, message
):
    client = bidder_client("alice")
    response = client.post(
        reverse("auctions:bids", args=[auction.public_id]),
        {"amount": amount},
        HTTP_IDEMPOTENCY_KEY=key or new_key(),
        **JSON,
    )
    assert response.status_code == status
    body = response.json()
    assert (body["ok"], body["code"]) == (False, code)
    assert message in body["message"]
    assert body["state"]["minimum"] == "$10.00"
    assert Bid.objects.count() == 0


@pytest.mark.django_db
def test_a_bid_refused_in_its_batch_answers_with_the_state_it_was_refused_against(
    bidder_client, auction, bid, make_bidder
):
    bid(make_bidder("bob"), 1500)
    client = bidder_client("alice")
    with CaptureQueriesContext(connection) as queries:
        response = post_bid(client, auction, "12", **JSON)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "bid_too_low" and body["state"]["minimum"] == "$16.00"
    # The auction is read by its address and locked by the batch; not read a third time.
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "auctions_auction"' in q["sql"]]
    assert len(reads) == 2


def test_a_second_bid_by_post_reads_nothing_of_the_auction_before_its_batch(bidder_client, auction):
    """What a bid needs to queue never changes (its id, seller, currency): read once."""
    client = bidder_client("alice")
    post_bid(client, auction, "12", **JSON)
    with CaptureQueriesContext(connection) as queries:
        response = post_bid(client, auction, "20", **JSON)
    assert response.status_code == 200
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "auctions_auction"' in q["sql"]]
    assert len(reads) == 1 and '"auctions_auction"."public_id" =' not in reads[0]  # the lock


@pytest.mark.django_db
def test_guests_and_cardless_people_are_told_why(client, auction, make_user):
    response = post_bid(client, auction, "10", **JSON)
    assert response.status_code == 403 and response.json()["code"] == "auth_required"
    client.force_login(make_user("cardless"))
    response = post_bid(client, auction, "10", **JSON)
    assert response.status_code == 409 and response.json()["code"] == "payment_method_required"
    page = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert "Add a payment method and a shipping address</a> to bid" in page


@pytest.mark.django_db
def test_a_bid_on_an_unknown_auction_is_404_json(bidder_client):
    response = post_bid(bidder_client("alice"), Auction(public_id=new_ulid()), "10", **JSON)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_plain_form_bid_redirects_back_with_the_message(bidder_client, auction):
    client = bidder_client("alice")
    response = post_bid(client, auction, "10")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "You are the high bidder at $10.00." in page
    refused = post_bid(client, auction, "9")
    assert refused.status_code == 409
    assert "already the high bidder" in refused.content.decode()


@pytest.mark.django_db
def test_an_htmx_bid_gets_a_fragment(bidder_client, auction):
    response = post_bid(bidder_client("alice"), auction, "10", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "You are the high bidder at $10.00." in html


@pytest.mark.django_db
def test_buy_it_now_over_fetch(bidder_client, make_auction, cards):
    auction = make_auction(buy_now=4000)
    response = bidder_client("alice").post(
        reverse("auctions:buy_now", args=[auction.public_id]),
        HTTP_IDEMPOTENCY_KEY=new_key(),
        **JSON,
    )
    body = response.json()
    assert body["ok"] and body["state"]["status"] == "settled"
    assert body["message"].startswith("It's yours")
    assert cards.charges[0][1:] == ("alice", 4000)


@pytest.mark.django_db
def test_a_declined_buy_it_now_is_a_conflict(bidder_client, make_auction):
    auction = make_auction(buy_now=4000)
    response = bidder_client("alice", declined=True).post(
        reverse("auctions:buy_now", args=[auction.public_id]),
        HTTP_IDEMPOTENCY_KEY=new_key(),
        **JSON,
    )
    assert response.status_code == 409
    assert response.json()["code"] == "payment_failed"
    assert response.json()["state"]["status"] == "live"


@pytest.mark.django_db
def test_the_runner_up_accepts_the_second_chance_from_the_page(
    client, auction, make_bidder, bid, cards
):
    bob = make_bidder("bob")
    bid(bob, 1000)
    bid(make_bidder("carol", declined=True), 1100)
    auctions_sweep(now=after_end(auction))
    client.force_login(bob)
    page = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert "It can still be yours" in page and "data-second-chance hidden" not in page
    response = client.post(
        reverse("auctions:second_chance_accept", args=[auction.public_id]),
        {"idempotency_key": new_key()},
    )
    assert response.status_code == 302
    assert "It&#x27;s yours" in client.get(response["Location"]).content.decode()
    assert cards.charges[0][1:] == ("bob", 1000)


# The seller's panel


def start_form(item, **overrides):
    data = {
        "item": item.public_id,
        "start": "10",
        "reserve": "",
        "buy_now": "",
        "duration": "2",
        "unit": "m",
        "starts_in": "0",
        "idempotency_key": new_key(),
    }
    return data | overrides


@pytest.mark.django_db
def test_the_dashboard_comes_with_the_auction_panel(client, stall, item):
    client.force_login(stall.seller.user)
    html = client.get(reverse("stalls:dashboard")).content.decode()
    assert 'id="auctions-panel"' in html and "Start an auction" in html
    panel = client.get(reverse("auctions:dashboard"), **HTMX).content.decode()
    assert panel.lstrip().startswith("{") is False and "<html" not in panel
    assert "Start an auction" in panel and "Brass lamp" in panel


@pytest.mark.django_db
def test_the_seller_starts_an_auction_from_the_panel(client, stall, item):
    client.force_login(stall.seller.user)
    response = client.post(reverse("auctions:dashboard"), start_form(item, reserve="20"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "Your auction of “Brass lamp” is up." in html
    auction = Auction.objects.get()
    assert (auction.start_cents, auction.reserve_cents) == (1000, 2000)
    assert (auction.ends_at - auction.starts_at).total_seconds() == 120
    assert "Add an item with a unit in stock" in html  # the only unit is held now


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "abc"}, "Enter an amount such as 25"),
        ({"reserve": "5"}, "A reserve must be above the starting price"),
        ({"duration": "10", "unit": "s"}, "30 seconds to 24 hours"),
    ],
)
def test_a_bad_start_form_says_what_is_wrong(client, stall, item, overrides, message):
    client.force_login(stall.seller.user)
    response = client.post(reverse("auctions:dashboard"), start_form(item, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Auction.objects.exists()


@pytest.mark.django_db
def test_the_seller_cancels_from_the_panel(client, auction, make_bidder, bid):
    client.force_login(auction.seller)
    url = reverse("auctions:cancel", args=[auction.public_id])
    html = client.post(url, **HTMX).content.decode()
    assert "was cancelled" in html
    assert Auction.objects.get().status == Auction.Status.CANCELLED


@pytest.mark.django_db
def test_cancelling_after_a_bid_shows_why_not(client, auction, make_bidder, bid):
    bid(make_bidder("alice"), 1000)
    client.force_login(auction.seller)
    response = client.post(reverse("auctions:cancel", args=[auction.public_id]), **HTMX)
    assert response.status_code == 409  # htmx swaps the panel with the reason in place
    assert "only before the first bid" in response.content.decode()
    plain = client.post(reverse("auctions:cancel", args=[auction.public_id]))
    assert plain.status_code == 409


@pytest.mark.django_db
def test_the_item_drawer_links_to_its_live_auction(client, auction, item):
    url = reverse("stalls:item_drawer", args=[item.stall.public_id, item.public_id])
    html = client.get(url).content.decode()
    assert reverse("auctions:detail", args=[auction.public_id]) in html
    assert "Bid in the live auction" in html
