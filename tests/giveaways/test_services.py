"""Giveaways (issue 14): opening holds a unit, entering is one tap, the draw picks at
random among those who entered and are present (and follow, for followers-only),
audited; cancelling gives the unit back; claiming makes the zero-price order."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from bazaar.errors import Conflict, NotAllowed, NotFound
from bazaar.idempotency import new_key
from giveaways.models import Giveaway, GiveawayDraw, GiveawayEntry, GiveawayEvent
from giveaways.services import (
    giveaway_cancel,
    giveaway_claim,
    giveaway_draw,
    giveaway_enter,
    giveaway_open,
)
from orders.models import Order
from stalls.models import Reservation
from stalls.selectors import item_available_quantity
from watchlist.services import stall_follow_set

ADDRESS = {
    "name": "Win Ner",
    "line1": "1 Prize Lane",
    "line2": "",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def draw(giveaway):
    return giveaway_draw(actor=giveaway.seller, giveaway=giveaway)


# Opening


def test_opening_holds_one_unit_for_the_prize(giveaway, prize):
    assert giveaway.status == Giveaway.Status.OPEN
    assert giveaway.reservation.reason == Reservation.Reason.GIVEAWAY
    assert item_available_quantity(item=prize) == 0
    assert GiveawayEvent.objects.filter(giveaway=giveaway, to_status="open").exists()


def test_only_the_seller_opens_one_of_their_items(prize, make_user):
    with pytest.raises(NotAllowed):
        giveaway_open(
            actor=make_user("stranger"), item=prize, audience="everyone", idempotency_key=new_key()
        )
    assert not Giveaway.objects.exists()


def test_an_item_with_no_unit_free_cannot_be_given_away(giveaway, prize):
    giveaway_cancel(actor=giveaway.seller, giveaway=giveaway)
    prize.inventory = 0
    prize.save(update_fields=["inventory"])
    with pytest.raises(Conflict, match="none is free to give away"):
        giveaway_open(
            actor=giveaway.seller, item=prize, audience="everyone", idempotency_key=new_key()
        )


def test_one_open_giveaway_per_stall(giveaway, stall, make_item, make_giveaway):
    with pytest.raises(Conflict, match="already open") as refused:
        make_giveaway(item=make_item(stall, title="Another"))
    assert refused.value.code == "giveaway_open"


def test_a_repeated_key_returns_the_first(make_giveaway):
    key = new_key()
    assert make_giveaway(key=key) == make_giveaway(key=key)
    assert Giveaway.objects.count() == 1


# Entering


def test_entering_is_one_tap_and_a_second_tap_changes_nothing(giveaway, make_user):
    shopper = make_user("shopper")
    first = giveaway_enter(user=shopper, giveaway=giveaway)
    assert giveaway_enter(user=shopper, giveaway=giveaway) == first
    assert GiveawayEntry.objects.count() == 1


def test_the_seller_cannot_enter(giveaway):
    with pytest.raises(NotAllowed, match="your own"):
        giveaway_enter(user=giveaway.seller, giveaway=giveaway)


def test_followers_only_refuses_a_viewer_who_does_not_follow(make_giveaway, make_user, stall):
    giveaway = make_giveaway(audience=Giveaway.Audience.FOLLOWERS)
    shopper = make_user("shopper")
    with pytest.raises(Conflict, match="follow the stall") as refused:
        giveaway_enter(user=shopper, giveaway=giveaway)
    assert refused.value.code == "followers_only"
    stall_follow_set(user=shopper, stall=stall, following=True)
    assert giveaway_enter(user=shopper, giveaway=giveaway).user == shopper


def test_no_entry_after_the_draw(giveaway, viewer_in, make_user):
    viewer_in("first")
    draw(giveaway)
    with pytest.raises(Conflict, match="draw has been made"):
        giveaway_enter(user=make_user("late"), giveaway=giveaway)


def test_no_entry_once_the_hour_is_up(giveaway, make_user):
    later = timezone.now() + timedelta(hours=2)
    with pytest.raises(Conflict, match="ran out of time"):
        giveaway_enter(user=make_user("late"), giveaway=giveaway, now=later)


# The draw


def test_the_draw_picks_an_entrant_who_is_present_and_records_it(giveaway, viewer_in):
    here = [viewer_in(f"here{n}") for n in range(3)]
    drawn = draw(giveaway)
    assert drawn.status == Giveaway.Status.DRAWN and drawn.winner in here
    record = GiveawayDraw.objects.get(giveaway=giveaway)
    by_id = sorted(here, key=lambda user: user.public_id)
    assert record.eligible == [{"id": u.public_id, "handle": u.handle} for u in by_id]
    assert by_id[record.pick] == drawn.winner == record.winner
    assert (record.entrants, record.present, record.method) == (3, 3, "secrets.randbelow")
    assert drawn.claim_by == drawn.drawn_at + timedelta(hours=48)


def test_the_pick_is_the_number_secrets_gave(giveaway, viewer_in):
    here = sorted([viewer_in(f"here{n}") for n in range(4)], key=lambda u: u.public_id)
    with mock.patch("giveaways.services.secrets.randbelow", return_value=2) as randbelow:
        drawn = draw(giveaway)
    randbelow.assert_called_once_with(4)
    assert drawn.winner == here[2]


def test_entrants_who_left_and_viewers_who_did_not_enter_cannot_win(
    giveaway, viewer_in, room, make_user
):
    gone = viewer_in("gone")
    room.leave(gone)
    room.arrive(make_user("lurker"))  # here, but never entered
    stayed = viewer_in("stayed")
    for _ in range(5):
        GiveawayDraw.objects.all().delete()
        Giveaway.objects.filter(pk=giveaway.pk).update(status="open", winner=None)
        assert draw(giveaway).winner == stayed
    record = GiveawayDraw.objects.get()
    assert [person["handle"] for person in record.eligible] == ["stayed"]
    assert (record.entrants, record.present) == (2, 2)


def test_followers_only_draws_among_those_still_following(make_giveaway, room, make_user, stall):
    giveaway = make_giveaway(audience=Giveaway.Audience.FOLLOWERS)
    loyal, fickle = make_user("loyal"), make_user("fickle")
    for person in (loyal, fickle):
        stall_follow_set(user=person, stall=stall, following=True)
        giveaway_enter(user=person, giveaway=giveaway)
        room.arrive(person)
    stall_follow_set(user=fickle, stall=stall, following=False)
    assert draw(giveaway).winner == loyal
    assert [p["handle"] for p in GiveawayDraw.objects.get().eligible] == ["loyal"]


def test_with_nobody_eligible_the_draw_is_refused_and_stays_open(giveaway, make_user, room):
    with pytest.raises(Conflict, match="Nobody has entered yet"):
        draw(giveaway)
    absent = make_user("absent")
    giveaway_enter(user=absent, giveaway=giveaway)
    with pytest.raises(Conflict, match="must be here at the draw") as refused:
        draw(giveaway)
    assert refused.value.code == "nobody_eligible"
    giveaway.refresh_from_db()
    assert giveaway.status == Giveaway.Status.OPEN and not GiveawayDraw.objects.exists()


def test_only_the_seller_draws(giveaway, viewer_in):
    viewer = viewer_in("viewer")
    with pytest.raises(NotAllowed):
        giveaway_draw(actor=viewer, giveaway=giveaway)


def test_a_second_draw_returns_the_first_result(giveaway, viewer_in):
    for n in range(5):
        viewer_in(f"viewer{n}")
    first = draw(giveaway)
    assert draw(giveaway).winner == first.winner
    assert GiveawayDraw.objects.count() == 1


def test_the_draw_nudges_the_stall_room(
    giveaway, viewer_in, monkeypatch, django_capture_on_commit_callbacks
):
    viewer_in("viewer")
    sent = []
    monkeypatch.setattr("bazaar.broadcast.broadcast_now", lambda g, e: sent.append((g, e)))
    with django_capture_on_commit_callbacks(execute=True):
        draw(giveaway)
    frames = [e["frame"] for g, e in sent if e["type"] == "show.frame"]
    assert frames == ['{"type": "show", "topic": "giveaway", "event": "drawn"}']


# Cancelling and claiming


def test_cancelling_gives_the_unit_back(giveaway, prize):
    giveaway_cancel(actor=giveaway.seller, giveaway=giveaway)
    giveaway.refresh_from_db()
    assert giveaway.status == Giveaway.Status.CANCELLED
    assert item_available_quantity(item=prize) == 1


def test_no_cancelling_after_the_draw(giveaway, viewer_in):
    viewer_in("viewer")
    draw(giveaway)
    with pytest.raises(Conflict, match="prize is the winner's"):
        giveaway_cancel(actor=giveaway.seller, giveaway=giveaway)


def test_the_winner_claims_a_zero_price_order(giveaway, viewer_in, prize):
    winner = viewer_in("winner")
    draw(giveaway)
    claimed = giveaway_claim(winner=winner, giveaway=giveaway, address=ADDRESS)
    assert claimed.status == Giveaway.Status.CLAIMED
    order = Order.objects.get(public_id=claimed.order_public_id)
    assert (order.buyer, order.total_cents, order.status) == (winner, 0, "paid_escrow")
    assert "1 Prize Lane" in order.ship_to
    prize.refresh_from_db()
    assert prize.inventory == 0  # the held unit went to the winner's order
    again = giveaway_claim(winner=winner, giveaway=giveaway, address=ADDRESS)
    assert again.order_public_id == claimed.order_public_id
    assert Order.objects.count() == 1


def test_only_the_winner_claims(giveaway, viewer_in, make_user):
    viewer_in("winner")
    draw(giveaway)
    with pytest.raises(NotFound):
        giveaway_claim(winner=make_user("other"), giveaway=giveaway, address=ADDRESS)


def test_a_claim_after_48_hours_is_refused(giveaway, viewer_in):
    winner = viewer_in("winner")
    draw(giveaway)
    later = timezone.now() + timedelta(hours=49)
    with pytest.raises(Conflict, match="run out"):
        giveaway_claim(winner=winner, giveaway=giveaway, address=ADDRESS, now=later)
    assert not Order.objects.exists()


def test_over_the_stall_the_result_shows_for_two_minutes_then_only_to_the_winner(
    giveaway, viewer_in, make_user
):
    from giveaways.selectors import giveaway_shown

    winner = viewer_in("winner")
    drawn = draw(giveaway)
    stall, bystander = giveaway.stall, make_user("bystander")
    assert giveaway_shown(stall=stall, user=bystander) == drawn
    later = drawn.drawn_at + timedelta(minutes=3)
    assert giveaway_shown(stall=stall, user=bystander, now=later) is None
    assert giveaway_shown(stall=stall, user=winner, now=later) == drawn
    after_the_claim_time = drawn.drawn_at + timedelta(hours=49)
    assert giveaway_shown(stall=stall, user=winner, now=after_the_claim_time) is None
