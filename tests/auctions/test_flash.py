"""Flash auctions from the stall room (auctions.flash): durations, sudden death,
who may start one, the stall room's nudge, and the panels on the stall page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from auctions.flash import flash_auction_shown, flash_auction_start
from auctions.models import Auction
from auctions.rules import soft_close
from bazaar.errors import Conflict, Invalid, NotAllowed
from bazaar.idempotency import new_key
from tests.conftest import race


def start(item, *, seconds=60, sudden_death=False, actor=None, key=None, price=100):
    return flash_auction_start(
        actor=actor or item.stall.seller.user,
        item=item,
        start_cents=price,
        duration=timedelta(seconds=seconds),
        sudden_death=sudden_death,
        idempotency_key=key or new_key(),
    )


@pytest.mark.parametrize("seconds", [30, 300])
def test_a_flash_auction_runs_from_30_seconds_to_5_minutes(item, seconds):
    auction = start(item, seconds=seconds)
    assert auction.flash and auction.status == Auction.Status.LIVE
    assert auction.ends_at - auction.starts_at == timedelta(seconds=seconds)


@pytest.mark.parametrize("seconds", [29, 301, 3600])
def test_a_duration_outside_30_seconds_to_5_minutes_is_refused(item, seconds):
    with pytest.raises(Invalid, match="30 seconds to 5 minutes"):
        start(item, seconds=seconds)
    assert not Auction.objects.exists()


def test_only_the_seller_starts_one(item, make_user):
    with pytest.raises(NotAllowed):
        start(item, actor=make_user("stranger"))
    assert not Auction.objects.exists()


def test_the_item_must_be_the_sellers_own(item, make_stall, make_item):
    other = make_item(make_stall("neighbour", slot=1), title="Their teapot")
    with pytest.raises(NotAllowed):
        start(other, actor=item.stall.seller.user)


def test_the_item_must_have_a_unit_free(item, make_item, stall):
    start(item)  # its one unit is held for this auction now
    second = make_item(stall, title="Spare")
    Auction.objects.update(status=Auction.Status.ENDED)  # the first has ended
    with pytest.raises(Conflict, match="none is free to auction"):
        start(item)
    assert start(second).item == second


def test_one_flash_auction_at_a_time(item, stall, make_item):
    start(item)
    with pytest.raises(Conflict, match="still running") as refused:
        start(make_item(stall, title="Next"))
    assert refused.value.code == "flash_running"
    assert Auction.objects.count() == 1


def test_a_repeated_key_returns_the_first_auction(item):
    key = new_key()
    first = start(item, key=key, sudden_death=True)
    assert start(item, key=key, sudden_death=True) == first
    assert Auction.objects.count() == 1


def test_sudden_death_never_extends(item, make_bidder, bid):
    auction = start(item, seconds=30, sudden_death=True)
    last_second = auction.ends_at - timedelta(seconds=1)
    bid(make_bidder("late"), 100, on=auction, at=last_second)
    auction.refresh_from_db()
    assert auction.sudden_death and auction.bid_count == 1
    assert auction.ends_at == auction.starts_at + timedelta(seconds=30)


def test_soft_close_extends_a_normal_flash_auction(item, make_bidder, bid):
    auction = start(item, seconds=30)
    last_second = auction.ends_at - timedelta(seconds=1)
    bid(make_bidder("late"), 100, on=auction, at=last_second)
    auction.refresh_from_db()
    assert auction.ends_at == last_second + timedelta(seconds=15)


def test_the_rule_itself_ignores_bids_in_the_window_under_sudden_death():
    now = timezone.now()
    end, hard = now + timedelta(seconds=2), now + timedelta(minutes=5)
    assert soft_close(ends_at=end, hard_ends_at=hard, arrived_at=now) > end
    assert soft_close(ends_at=end, hard_ends_at=hard, arrived_at=now, sudden_death=True) == end


def test_starting_nudges_the_stall_room(item, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "bazaar.broadcast.broadcast_now", lambda group, event: sent.append((group, event))
    )
    with django_capture_on_commit_callbacks(execute=True):
        start(item)
    nudges = [event for group, event in sent if event["type"] == "show.frame"]
    assert sent[-1][0] == f"stall.{item.stall.public_id}"
    assert '"topic": "auction"' in nudges[0]["frame"]


def test_the_overlay_shows_the_live_one_then_the_last_for_two_minutes(item):
    auction = start(item)
    assert flash_auction_shown(stall=item.stall) == auction
    Auction.objects.update(status=Auction.Status.SETTLED, closed_at=timezone.now())
    assert flash_auction_shown(stall=item.stall) == auction
    later = timezone.now() + timedelta(minutes=3)
    assert flash_auction_shown(stall=item.stall, now=later) is None


def test_a_dashboard_auction_is_not_shown_over_the_stall(auction):
    assert flash_auction_shown(stall=auction.item.stall) is None


# The pages


def test_the_seller_starts_one_from_the_stall_page(client, item):
    client.force_login(item.stall.seller.user)
    url = reverse("auctions:flash_tools", args=[item.stall.public_id])
    response = client.post(
        url,
        {
            "item": item.public_id,
            "start": "2",
            "duration": "90",
            "sudden_death": "on",
            "idempotency_key": new_key(),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "is live" in response.content.decode()
    auction = Auction.objects.get()
    assert (auction.start_cents, auction.sudden_death, auction.flash) == (200, True, True)
    assert auction.ends_at - auction.starts_at == timedelta(seconds=90)


def test_a_refusal_is_shown_in_place(client, item, stall, make_item):
    start(item)
    other = make_item(stall, title="Next")
    client.force_login(stall.seller.user)
    response = client.post(
        reverse("auctions:flash_tools", args=[stall.public_id]),
        {"item": other.public_id, "start": "1", "duration": "60", "idempotency_key": new_key()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "still running or closing" in response.content.decode()


def test_a_duration_not_offered_is_refused_in_place(client, item):
    client.force_login(item.stall.seller.user)
    response = client.post(
        reverse("auctions:flash_tools", args=[item.stall.public_id]),
        {"item": item.public_id, "start": "1", "duration": "3600", "idempotency_key": new_key()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Auction.objects.exists()


def test_a_stranger_cannot_use_the_sellers_tools(client, item, make_user):
    client.force_login(make_user("stranger"))
    url = reverse("auctions:flash_tools", args=[item.stall.public_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"item": item.public_id}).status_code == 403


def test_the_stall_page_shows_the_panel_to_everyone_and_the_tools_to_the_seller(
    client, item, make_user
):
    start(item, sudden_death=True)
    page = client.get(reverse("stalls:detail", args=[item.stall.public_id])).content.decode()
    assert 'data-show-slot="auction"' in page and "Sudden death" in page
    assert "Log in to bid" in page and "Show tools" not in page
    client.force_login(item.stall.seller.user)
    page = client.get(reverse("stalls:detail", args=[item.stall.public_id])).content.decode()
    assert "Show tools" in page and "You cannot bid on it" in page


def test_the_auction_page_says_sudden_death(client, item):
    auction = start(item, sudden_death=True)
    page = client.get(reverse("auctions:detail", args=[auction.public_id])).content.decode()
    assert 'class="sudden-death"' in page


def test_the_panel_is_empty_without_a_flash_auction(client, stall):
    response = client.get(reverse("auctions:flash", args=[stall.public_id]))
    assert response.status_code == 200
    assert 'data-show-key="none"' in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tabs_starting_at_once_start_one(require_postgres, stall, make_item):
    first, second = make_item(stall, title="One"), make_item(stall, title="Two")
    outcomes = race(lambda: start(first), lambda: start(second))
    started = [o for o in outcomes if isinstance(o, Auction)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert refused[0].code == "flash_running"
    assert Auction.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_start_sent_twice_at_once_starts_one(require_postgres, item):
    key = new_key()
    first, second = race(lambda: start(item, key=key), lambda: start(item, key=key))
    assert isinstance(first, Auction) and first == second, (first, second)
    assert Auction.objects.count() == 1
