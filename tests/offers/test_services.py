"""The bargaining rules, at the service level."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed, NotFound
from offers.ladder import mask_handle
from offers.models import AutoPrices, Offer, OfferEvent
from offers.selectors import offer_accepted_for_checkout, offer_status
from offers.services import (
    auto_prices_set,
    offer_accept,
    offer_amount_parse,
    offer_counter,
    offer_decline,
    offer_make,
    offer_mark_purchased,
    offer_withdraw,
    offers_expire_due,
)
from offers.tasks import expire_offers
from offers.transitions import TRANSITIONS, transition
from stalls.models import Reservation
from stalls.room.document import document_snapshot
from stalls.selectors import item_available_quantity
from stalls.services import item_update, reservation_take

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_offer(buyer, item, key):
    def make(amount_cents=2000, *, who=None, on=None, message=""):
        return offer_make(
            buyer=who or buyer,
            item=on or item,
            amount_cents=amount_cents,
            message=message,
            idempotency_key=key(),
        )

    return make


def counter(actor, offer, amount_cents, key, message=""):
    return offer_counter(
        actor=actor, offer=offer, amount_cents=amount_cents, message=message, idempotency_key=key()
    )


def ladder(item):
    return [
        e
        for e in document_snapshot(stall_id=item.stall_id)["offers"]
        if e["item"] == item.public_id
    ]


# Making an offer


def test_an_offer_is_stored_audited_and_published_without_its_message(
    make_offer, item, buyer, on_commit
):
    offer = on_commit(make_offer, 2000, message="Would you take twenty?")
    assert offer.status == Offer.Status.PENDING
    assert offer.side == Offer.Side.BUYER
    assert offer.thread == offer.public_id
    assert offer.currency == item.currency
    assert offer.expires_at - offer.created_at == timedelta(hours=48)
    event = OfferEvent.objects.get(offer=offer)
    assert (event.from_status, event.to_status, event.actor) == ("", "pending", buyer)
    (entry,) = ladder(item)
    assert entry["id"] == offer.public_id
    assert entry["amount_cents"] == 2000 and entry["amount"] == "$20.00"
    assert entry["status"] == "pending" and entry["buyer"] == "b***r"
    assert "Would you take twenty?" not in str(entry)
    assert "brassbuyer" not in str(entry)


@pytest.mark.parametrize("handle,masked", [("brassbuyer", "b***r"), ("bob", "b***b")])
def test_handles_are_masked_to_first_and_last_letters(handle, masked):
    assert mask_handle(handle) == masked


@pytest.mark.parametrize(
    "cents,message", [(0, "more than zero"), (2501, "at most the price, $25.00")]
)
def test_an_offer_is_more_than_zero_and_at_most_the_price(make_offer, cents, message):
    with pytest.raises(Invalid, match=re.escape(message)):
        make_offer(cents)
    assert not Offer.objects.exists()


def test_the_full_price_is_a_valid_offer(make_offer):
    assert make_offer(2500).status == Offer.Status.PENDING


def test_a_seller_cannot_offer_on_their_own_item(make_offer, seller):
    with pytest.raises(NotAllowed, match="your own items"):
        make_offer(who=seller)


def test_a_guest_cannot_offer(make_offer):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAllowed, match="Sign in"):
        make_offer(who=AnonymousUser())


def test_an_item_out_of_stock_takes_no_offers(make_offer, item, make_user):
    reservation_take(
        item=item, holder=make_user(), reason=Reservation.Reason.CHECKOUT, ttl=timedelta(hours=1)
    )
    with pytest.raises(Conflict, match="out of stock") as caught:
        make_offer()
    assert caught.value.code == "out_of_stock"


def test_a_new_offers_checks_count_only_live_holds_and_this_buyers_offers(
    make_offer, item, make_user, key
):
    """The stock and the counts are one statement: a lapsed hold and another buyer's
    open thread and amounts do not count against this buyer."""
    item.inventory = 2
    item.save()
    lapsed = reservation_take(
        item=item, holder=make_user(), reason=Reservation.Reason.CHECKOUT, ttl=timedelta(hours=1)
    )
    Reservation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now())
    reservation_take(
        item=item, holder=make_user(), reason=Reservation.Reason.CHECKOUT, ttl=timedelta(hours=1)
    )
    other = make_user("otherbuyer")
    for amount in range(1000, 1500, 100):
        offer_withdraw(actor=other, offer=make_offer(amount, who=other), idempotency_key=key())
    make_offer(2000, who=make_user("thirdbuyer"))
    assert make_offer(2100).status == "pending"


def test_an_archived_item_takes_no_offers(make_offer, item):
    item.archived_at = timezone.now()
    item.save()
    with pytest.raises(Conflict, match="no longer for sale"):
        make_offer()


def test_a_long_message_is_refused(make_offer):
    with pytest.raises(Invalid, match="at most 280 characters; this one has 281"):
        make_offer(message="x" * 281)


def test_one_open_thread_per_buyer_and_item(make_offer, make_item, stall):
    make_offer(2000)
    with pytest.raises(Conflict, match="already have an open offer") as caught:
        make_offer(2100)
    assert caught.value.code == "offer_open"
    assert make_offer(900, on=make_item(stall, title="Other")).status == "pending"


def test_the_database_refuses_a_second_live_thread(make_offer, item, buyer):
    offer = make_offer(2000)
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            thread="X",
            item=item,
            buyer=buyer,
            side="buyer",
            amount_cents=100,
            currency="USD",
            expires_at=offer.expires_at,
        )


def test_a_buyer_sends_at_most_five_amounts_per_item_counting_finished_ones(
    make_offer, buyer, seller, key
):
    first = make_offer(1000)
    offer_withdraw(actor=buyer, offer=first, idempotency_key=key())
    second = make_offer(1100)
    offer_decline(actor=seller, offer=second, idempotency_key=key())
    third = make_offer(1200)
    third.expires_at = timezone.now() - timedelta(seconds=1)
    third.save()
    assert offers_expire_due() == 1
    fourth = make_offer(1300)
    seller_counter = counter(seller, fourth, 2400, key)
    counter(buyer, seller_counter, 1400, key)  # the fifth amount
    assert Offer.objects.filter(buyer=buyer, side="buyer").count() == 5
    with pytest.raises(Conflict, match="5 offers on this item") as caught:
        counter(buyer, counter(seller, Offer.objects.get(amount_cents=1400), 2300, key), 1500, key)
    assert caught.value.code == "offer_limit"


def test_a_sixth_new_offer_is_refused_too(make_offer, buyer, key):
    for amount in range(1000, 1500, 100):
        offer_withdraw(actor=buyer, offer=make_offer(amount), idempotency_key=key())
    with pytest.raises(Conflict, match="the most allowed"):
        make_offer(1500)


# Amounts people type


@pytest.mark.parametrize(
    "text,cents", [("25", 2500), ("$25.50", 2550), ("25,50", 2550), (" 7.5 ", 750)]
)
def test_amounts_are_parsed_like_prices(text, cents):
    assert offer_amount_parse(text=text, currency="USD") == cents


@pytest.mark.parametrize(
    "text,message",
    [
        ("1,000", "Use a dot"),
        ("25.505", "At most 2 decimal places"),
        ("twenty", "Enter an amount"),
        ("", "Enter an amount"),
        ("-5", "Enter an amount"),
    ],
)
def test_malformed_amounts_are_refused_clearly(text, message):
    with pytest.raises(Invalid, match=message) as caught:
        offer_amount_parse(text=text, currency="USD")
    assert caught.value.code == "bad_amount"


# Counters


def test_a_counter_answers_an_offer_and_starts_fresh(make_offer, seller, item, key, on_commit):
    offer = on_commit(make_offer, 2000)
    reply = on_commit(counter, seller, offer, 2300, key, message="Meet me at 23?")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.COUNTERED
    assert reply.answers == offer and reply.thread == offer.thread
    assert reply.side == Offer.Side.SELLER and reply.status == Offer.Status.PENDING
    assert reply.expires_at > offer.expires_at
    assert [(e["amount_cents"], e["status"]) for e in ladder(item)] == [
        (2000, "countered"),
        (2300, "pending"),
    ]


@pytest.mark.parametrize(
    "amount,message",
    [
        (2600, "at most the list price, \\$25.00"),
        (2000, "above the buyer's \\$20.00"),
        (1900, "above the buyer's"),
    ],
)
def test_a_seller_counters_between_the_offer_and_the_list_price(
    make_offer, seller, key, amount, message
):
    offer = make_offer(2000)
    with pytest.raises(Invalid, match=message):
        counter(seller, offer, amount, key)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.PENDING


def test_a_seller_may_counter_at_the_list_price(make_offer, seller, key):
    assert counter(seller, make_offer(2000), 2500, key).amount_cents == 2500


def test_every_counter_moves_toward_the_other_side(make_offer, seller, buyer, key):
    offer = make_offer(2000)
    first = counter(seller, offer, 2400, key)
    with pytest.raises(Invalid, match=re.escape("Go up from your last offer of $20.00")):
        counter(buyer, first, 2000, key)
    with pytest.raises(Invalid, match=re.escape("below the seller's $24.00")):
        counter(buyer, first, 2400, key)
    second = counter(buyer, first, 2100, key)
    with pytest.raises(Invalid, match=re.escape("Come down from your last counter of $24.00")):
        counter(seller, second, 2400, key)
    with pytest.raises(Invalid, match=re.escape("above the buyer's $21.00")):
        counter(seller, second, 2100, key)
    assert counter(seller, second, 2300, key).amount_cents == 2300


def test_nobody_answers_their_own_amount(make_offer, seller, buyer, key):
    offer = make_offer(2000)
    with pytest.raises(Conflict, match="Wait for the other side") as caught:
        counter(buyer, offer, 2100, key)
    assert caught.value.code == "not_your_turn"
    reply = counter(seller, offer, 2400, key)
    with pytest.raises(Conflict, match="Wait for the other side"):
        counter(seller, reply, 2300, key)  # no second counter before the buyer answers
    with pytest.raises(Conflict, match="Wait for the other side"):
        offer_accept(actor=seller, offer=reply, idempotency_key=key())
    with pytest.raises(Conflict, match="already countered"):
        counter(seller, offer, 2300, key)


def test_strangers_get_not_found(make_offer, make_user, key):
    offer = make_offer(2000)
    stranger = make_user("nosy")
    for act in (offer_accept, offer_decline, offer_withdraw):
        with pytest.raises(NotFound):
            act(actor=stranger, offer=offer, idempotency_key=key())
    with pytest.raises(NotFound):
        counter(stranger, offer, 2100, key)


# Accepting, declining, withdrawing


def test_accepting_holds_one_unit_for_the_buyer_for_a_day(
    make_offer, seller, item, buyer, key, on_commit
):
    offer = on_commit(offer_accept, actor=seller, offer=make_offer(2000), idempotency_key=key())
    assert offer.status == Offer.Status.ACCEPTED
    reservation = offer.reservation
    assert reservation.holder == buyer and reservation.reason == Reservation.Reason.OFFER
    assert reservation.reference == offer.public_id
    assert reservation.expires_at - reservation.created_at == pytest.approx(
        timedelta(hours=24), abs=timedelta(seconds=2)
    )
    assert offer.expires_at == reservation.expires_at
    assert item_available_quantity(item=item) == 0
    assert offer_accepted_for_checkout(buyer=buyer, item=item) == offer
    assert ladder(item)[0]["status"] == "accepted"


def test_the_buyer_accepts_a_counter(make_offer, seller, buyer, key):
    reply = counter(seller, make_offer(2000), 2300, key)
    accepted = offer_accept(actor=buyer, offer=reply, idempotency_key=key())
    assert accepted.status == "accepted" and accepted.amount_cents == 2300
    assert accepted.reservation.holder == buyer


def test_accepting_with_no_unit_left_fails_and_leaves_the_offer_open(
    make_offer, seller, make_user, key
):
    first = make_offer(2000)
    second = make_offer(2100, who=make_user("other"))
    offer_accept(actor=seller, offer=first, idempotency_key=key())
    with pytest.raises(Conflict, match="No unit is left") as caught:
        offer_accept(actor=seller, offer=second, idempotency_key=key())
    assert caught.value.code == "out_of_stock"
    second.refresh_from_db()
    assert second.status == Offer.Status.PENDING
    assert not OfferEvent.objects.filter(offer=second, to_status="accepted").exists()


def test_the_seller_declines_and_the_buyer_may_offer_again(
    make_offer, seller, item, key, on_commit
):
    offer = on_commit(offer_decline, actor=seller, offer=make_offer(2000), idempotency_key=key())
    assert offer.status == Offer.Status.DECLINED
    assert ladder(item)[0]["status"] == "declined"
    assert make_offer(2100).status == "pending"


def test_a_buyer_cannot_decline_a_counter_but_withdraws(make_offer, seller, buyer, key):
    reply = counter(seller, make_offer(2000), 2400, key)
    with pytest.raises(Conflict, match="withdraw your offer"):
        offer_decline(actor=buyer, offer=reply, idempotency_key=key())
    assert offer_withdraw(actor=buyer, offer=reply, idempotency_key=key()).status == "withdrawn"


def test_a_seller_cannot_withdraw(make_offer, seller, key):
    with pytest.raises(NotAllowed, match="Only the buyer"):
        offer_withdraw(actor=seller, offer=make_offer(), idempotency_key=key())


def test_withdrawing_an_accepted_offer_releases_its_unit(make_offer, seller, buyer, item, key):
    offer = offer_accept(actor=seller, offer=make_offer(2000), idempotency_key=key())
    assert item_available_quantity(item=item) == 0
    offer = offer_withdraw(actor=buyer, offer=offer, idempotency_key=key())
    assert offer.status == "withdrawn"
    offer.reservation.refresh_from_db()
    assert offer.reservation.released_at is not None
    assert item_available_quantity(item=item) == 1
    assert offer_accepted_for_checkout(buyer=buyer, item=item) is None


def test_finished_offers_stay_finished(make_offer, seller, buyer, key):
    offer = offer_decline(actor=seller, offer=make_offer(2000), idempotency_key=key())
    for act, actor in ((offer_accept, seller), (offer_withdraw, buyer), (offer_decline, seller)):
        with pytest.raises(Conflict):
            act(actor=actor, offer=offer, idempotency_key=key())
    offer.refresh_from_db()
    assert offer.status == "declined"


def test_the_transition_table_refuses_moves_out_of_terminal_states(make_offer):
    offer = make_offer(2000)
    terminal = set(Offer.Status.values) - set(TRANSITIONS)
    assert terminal == {"countered", "declined", "expired", "withdrawn", "purchased"}
    for status in terminal:
        offer.status = status
        for target in Offer.Status.values:
            with pytest.raises(Conflict, match="cannot become"):
                transition(offer, target)


# Idempotency


def test_a_retried_request_makes_one_offer(buyer, item):
    first = offer_make(
        buyer=buyer, item=item, amount_cents=2000, message="", idempotency_key="K" * 26
    )
    again = offer_make(
        buyer=buyer, item=item, amount_cents=2000, message="", idempotency_key="K" * 26
    )
    assert again == first
    assert Offer.objects.count() == 1


def test_a_retried_answer_acts_once_and_returns_the_first_result(make_offer, seller, buyer):
    offer = make_offer(2000)
    reply = offer_counter(
        actor=seller, offer=offer, amount_cents=2300, message="", idempotency_key="C" * 26
    )
    again = offer_counter(
        actor=seller, offer=offer, amount_cents=2300, message="", idempotency_key="C" * 26
    )
    assert again == reply and Offer.objects.count() == 2
    accepted = offer_accept(actor=buyer, offer=reply, idempotency_key="A" * 26)
    offer_withdraw(actor=buyer, offer=accepted, idempotency_key="W" * 26)
    # The accept's retry, arriving late, returns the offer as it is now; it does not act.
    assert offer_accept(actor=buyer, offer=reply, idempotency_key="A" * 26).status == "withdrawn"
    assert Reservation.objects.count() == 1


def test_a_retried_offer_that_auto_prices_declined_is_not_made_again(buyer, seller, item):
    """Nothing about the item refuses the retry (no thread is open, amounts are left):
    the key's unique index does, and the first offer comes back."""
    auto_prices_set(actor=seller, item=item, accept_cents=None, decline_cents=1500)
    first = offer_make(
        buyer=buyer, item=item, amount_cents=1000, message="", idempotency_key="D" * 26
    )
    again = offer_make(
        buyer=buyer, item=item, amount_cents=1000, message="", idempotency_key="D" * 26
    )
    assert first.status == again.status == "declined" and again == first
    assert Offer.objects.count() == 1


def test_a_first_request_pays_no_key_lookup(make_offer, seller):
    offer = make_offer(2000)
    with CaptureQueriesContext(connection) as first_request:
        offer_decline(actor=seller, offer=offer, idempotency_key="N" * 26)
    reads = [query["sql"] for query in first_request if query["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if "idempotency_key" in sql]
    assert offer_decline(actor=seller, offer=offer, idempotency_key="N" * 26).status == "declined"


# Expiry


def _age(offer):
    """Time runs out for `offer` (and nothing has swept it yet)."""
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_the_sweep_expires_pending_and_accepted_offers(
    make_offer, make_user, seller, item, key, on_commit
):
    pending = make_offer(2000)
    fresh = make_offer(2200, who=make_user("third"))
    accepted = offer_accept(
        actor=seller, offer=make_offer(2100, who=make_user("other")), idempotency_key=key()
    )
    for offer in (pending, accepted):
        _age(offer)
    assert on_commit(lambda: expire_offers.delay().get()) == 2
    statuses = dict(Offer.objects.values_list("pk", "status"))
    assert statuses == {pending.pk: "expired", accepted.pk: "expired", fresh.pk: "pending"}
    accepted.reservation.refresh_from_db()
    assert accepted.reservation.released_at is not None
    assert item_available_quantity(item=item) == 1
    assert {e["id"]: e["status"] for e in ladder(item)}[accepted.public_id] == "expired"
    assert offers_expire_due() == 0


def test_a_late_sweep_never_lets_an_expired_offer_be_accepted(make_offer, seller, key):
    offer = make_offer(2000)
    _age(offer)
    assert offer_status(Offer.objects.get(pk=offer.pk)) == "expired"
    with pytest.raises(Conflict, match="expired") as caught:
        offer_accept(actor=seller, offer=offer, idempotency_key=key())
    assert caught.value.code == "expired"
    offer.refresh_from_db()
    assert offer.status == "expired"  # the expiry itself was kept
    assert OfferEvent.objects.filter(offer=offer, to_status="expired", actor=None).exists()
    assert not Reservation.objects.exists()
    assert make_offer(2100).status == "pending"  # the thread is over: a new one may start


def test_checkout_does_not_see_an_accepted_offer_past_its_time(
    make_offer, seller, buyer, item, key
):
    offer = offer_accept(actor=seller, offer=make_offer(2000), idempotency_key=key())
    _age(offer)
    assert offer_accepted_for_checkout(buyer=buyer, item=item) is None


# Checkout (the orders app's calls)


def test_marking_an_offer_purchased_is_idempotent_per_reference(
    make_offer, seller, buyer, item, key, on_commit
):
    offer = on_commit(offer_accept, actor=seller, offer=make_offer(2000), idempotency_key=key())
    bought = on_commit(offer_mark_purchased, offer=offer, reference="order-1")
    assert bought.status == "purchased" and bought.purchase_reference == "order-1"
    assert offer_mark_purchased(offer=offer, reference="order-1").status == "purchased"
    assert OfferEvent.objects.filter(offer=offer, to_status="purchased").count() == 1
    with pytest.raises(Conflict, match="another order"):
        offer_mark_purchased(offer=offer, reference="order-2")
    assert offer_accepted_for_checkout(buyer=buyer, item=item) is None
    assert ladder(item)[0]["status"] == "purchased"
    bought.reservation.refresh_from_db()
    assert bought.reservation.released_at is None  # orders consumes it, not us


def test_only_an_accepted_offer_can_be_purchased(make_offer):
    with pytest.raises(Conflict, match="not accepted") as caught:
        offer_mark_purchased(offer=make_offer(2000), reference="order-1")
    assert caught.value.code == "offer_not_accepted"


# Auto prices


def test_auto_prices_answer_buyers_amounts(make_offer, make_user, seller, item, key):
    auto_prices_set(actor=seller, item=item, accept_cents=2200, decline_cents=1500)
    low = make_offer(1400, who=make_user("low"))
    middle = make_offer(1500, who=make_user("middle"))
    high = make_offer(2200, who=make_user("high"))
    assert (low.status, middle.status, high.status) == ("declined", "pending", "accepted")
    assert high.reservation is not None
    assert OfferEvent.objects.get(offer=high, to_status="accepted").actor is None
    # A buyer's counter is answered too; with the unit held, an auto-accept waits.
    reply = counter(seller, middle, 2400, key)
    answer = counter(middle.buyer, reply, 2300, key)
    assert answer.status == "pending"


def test_a_buyer_counter_is_auto_accepted(make_offer, seller, buyer, item, key):
    auto_prices_set(actor=seller, item=item, accept_cents=2200, decline_cents=None)
    reply = counter(seller, make_offer(2000), 2400, key)
    assert counter(buyer, reply, 2250, key).status == "accepted"


@pytest.mark.parametrize(
    "accept,decline,message",
    [
        (2500, None, "auto-accept price must be below the list price"),
        (None, 2600, "auto-decline price must be below the list price"),
        (1500, 1500, "auto-decline price must be below the auto-accept price"),
        (0, None, "more than zero"),
    ],
)
def test_auto_prices_stay_below_the_list_price_and_in_order(seller, item, accept, decline, message):
    with pytest.raises(Invalid, match=message):
        auto_prices_set(actor=seller, item=item, accept_cents=accept, decline_cents=decline)
    assert not AutoPrices.objects.exists()


def test_only_the_seller_sets_auto_prices(item, buyer):
    with pytest.raises(NotAllowed):
        auto_prices_set(actor=buyer, item=item, accept_cents=2000, decline_cents=None)


def test_auto_prices_can_be_cleared(seller, item, make_offer):
    auto_prices_set(actor=seller, item=item, accept_cents=2000, decline_cents=1000)
    auto_prices_set(actor=seller, item=item, accept_cents=None, decline_cents=None)
    assert make_offer(2400).status == "pending"


def test_inventory_cannot_drop_below_units_held_by_accepted_offers(make_offer, seller, item, key):
    offer_accept(actor=seller, offer=make_offer(2000), idempotency_key=key())
    with pytest.raises(Conflict, match="reserved"):
        item_update(
            actor=seller,
            item=item,
            title=item.title,
            description="",
            price_cents=item.price_cents,
            currency=item.currency,
            inventory=0,
        )


def test_a_ladder_write_that_fails_is_done_again_from_the_offers(
    make_offer, item, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import OperationalError

    from offers import ladder as ladder_module
    from offers.tasks import sync_ladder

    def unavailable(**_):
        raise OperationalError("the database went away")

    with django_capture_on_commit_callbacks() as after_commit:
        offer = make_offer(2000)
    queued = []
    monkeypatch.setattr(ladder_module, "document_change", unavailable)
    monkeypatch.setattr(
        ladder_module, "enqueue_on_commit", lambda task, **kw: queued.append((task, kw))
    )
    for callback in after_commit:  # the ladder write fails: the offer itself is kept
        callback()
    assert queued == [
        ("offers.tasks.sync_ladder", {"stall_id": item.stall_id, "offer_ids": [offer.public_id]})
    ]
    assert ladder(item) == []
    monkeypatch.undo()
    sync_ladder(**queued[0][1])
    assert [(e["id"], e["status"]) for e in ladder(item)] == [(offer.public_id, "pending")]


def test_past_the_pace_an_action_is_refused_and_a_retry_still_gets_its_answer(
    buyer, item, monkeypatch
):
    from bazaar.errors import RateLimited
    from bazaar.ratelimit import Rate
    from offers import services

    monkeypatch.setattr(services, "OFFER_RATE", Rate(1, 60, "1 offer action a minute"))

    def make(key: str):
        return offer_make(
            buyer=buyer, item=item, amount_cents=2000, message="", idempotency_key=key
        )

    first = make("first-offer-key-0001")
    with pytest.raises(RateLimited) as refused:
        make("second-offer-key-0002")
    again = make("first-offer-key-0001")

    assert refused.value.status == 429 and refused.value.retry_after
    assert "Too many tries: at most 1 offer action a minute" in refused.value.message
    assert again.pk == first.pk
