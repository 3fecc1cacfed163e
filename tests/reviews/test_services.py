"""Rules of reviews: who may rate what and when, once per order; the seller's one
answer; stewards hide abusive reviews, which then leave the average."""

from decimal import Decimal

import pytest

from bazaar.errors import Conflict, Invalid, NotAllowed
from orders.models import Order
from reviews.models import Review
from reviews.selectors import reviews_for_stall, stall_rating
from reviews.services import review_create, review_hide, review_reply, review_show
from tests.reviews.conftest import paid_order, released_order

pytestmark = pytest.mark.django_db


def test_the_buyer_of_a_released_order_rates_the_stall_once(released, buyer, stall, key):
    review = review_create(
        buyer=buyer, order=released, stars=4, text=" Lovely lamp. ", idempotency_key=key()
    )
    assert (review.stall_id, review.stars, review.text) == (stall.pk, 4, "Lovely lamp.")
    with pytest.raises(Conflict, match="already rated this order"):
        review_create(buyer=buyer, order=released, stars=5, text="Again", idempotency_key=key())
    assert Review.objects.count() == 1


def test_the_same_request_twice_gets_the_first_review_back(released, buyer):
    first = review_create(
        buyer=buyer, order=released, stars=5, text="Great", idempotency_key="k" * 20
    )
    again = review_create(
        buyer=buyer, order=released, stars=5, text="Great", idempotency_key="k" * 20
    )
    assert again.pk == first.pk
    with pytest.raises(Conflict, match="already sent with another review"):
        review_create(buyer=buyer, order=released, stars=1, text="Bad", idempotency_key="k" * 20)


def test_an_order_still_in_escrow_cannot_be_rated_yet(buyer, lamp, key):
    order = paid_order(buyer, lamp)
    with pytest.raises(Conflict, match="once the order is released from escrow"):
        review_create(buyer=buyer, order=order, stars=5, text="Early", idempotency_key=key())
    assert not Review.objects.exists()


def test_only_the_buyer_may_rate(released, stall, make_user, key):
    for person in (stall.seller.user, make_user("someone")):
        with pytest.raises(NotAllowed, match="Only the buyer of this order"):
            review_create(buyer=person, order=released, stars=1, text="Hm", idempotency_key=key())


@pytest.mark.parametrize(
    ("stars", "text", "message"),
    [
        (0, "ok", "Choose from 1 to 5 stars"),
        (6, "ok", "Choose from 1 to 5 stars"),
        (3, "   ", "Write a few words"),
        (3, "x" * 2001, "under 2,000 characters"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(released, buyer, key, stars, text, message):
    with pytest.raises(Invalid, match=message):
        review_create(buyer=buyer, order=released, stars=stars, text=text, idempotency_key=key())
    assert not Review.objects.exists()


def test_the_seller_answers_once_and_a_repeat_gets_the_same_answer(released, buyer, stall, key):
    review = review_create(buyer=buyer, order=released, stars=3, text="Slow", idempotency_key=key())
    seller = stall.seller.user
    answered = review_reply(actor=seller, review=review, text="Sorry!", idempotency_key="r" * 20)
    assert answered.reply == "Sorry!" and answered.replied_at is not None
    repeat = review_reply(actor=seller, review=review, text="Sorry!", idempotency_key="r" * 20)
    assert repeat.replied_at == answered.replied_at
    with pytest.raises(Conflict, match="already answered"):
        review_reply(actor=seller, review=review, text="More", idempotency_key=key())
    with pytest.raises(Invalid, match="Write a few words for your answer"):
        review_reply(actor=seller, review=review, text=" ", idempotency_key=key())


def test_nobody_but_the_seller_answers(released, buyer, steward, key):
    review = review_create(buyer=buyer, order=released, stars=3, text="Ok", idempotency_key=key())
    for person in (buyer, steward):
        with pytest.raises(NotAllowed, match="Only the stall's seller"):
            review_reply(actor=person, review=review, text="Hi", idempotency_key=key())
    review.refresh_from_db()
    assert review.reply == ""


def test_the_rating_averages_shown_reviews_and_a_hidden_one_leaves_it(
    stall, make_buyer, make_item, steward, key, on_commit
):
    """The rating is kept between reads until a review is written, hidden or shown
    again, and is right on the next read after each commits."""
    reviews = []
    assert stall_rating(stall=stall).count == 0
    for number, stars in enumerate((5, 4, 4, 1)):
        buyer = make_buyer(f"rater{number}")
        order = released_order(buyer, make_item(stall, title=f"Thing {number}"))
        reviews.append(
            on_commit(
                review_create,
                buyer=buyer,
                order=order,
                stars=stars,
                text="t",
                idempotency_key=key(),
            )
        )
        assert stall_rating(stall=stall).count == number + 1
    assert stall_rating(stall=stall).average == Decimal("3.5")
    on_commit(review_hide, actor=steward, review=reviews[3], reason="abusive")
    assert stall_rating(stall=stall).average == Decimal("4.3")
    assert stall_rating(stall=stall).count == 3
    assert reviews[3] not in list(reviews_for_stall(stall=stall))
    on_commit(review_show, actor=steward, review=reviews[3])
    assert stall_rating(stall=stall).count == 4


def test_a_review_not_committed_leaves_the_kept_rating(stall, released, buyer, key):
    assert stall_rating(stall=stall).count == 0
    review_create(buyer=buyer, order=released, stars=5, text="t", idempotency_key=key())
    assert stall_rating(stall=stall).count == 0  # rolled back with the test: never committed


def test_only_stewards_hide_reviews(released, buyer, stall, key):
    review = review_create(buyer=buyer, order=released, stars=1, text="Meh", idempotency_key=key())
    for person in (buyer, stall.seller.user):
        with pytest.raises(NotAllowed, match="Only stewards"):
            review_hide(actor=person, review=review, reason="")
    review.refresh_from_db()
    assert review.hidden_at is None


def test_a_stall_without_reviews_has_no_average(stall):
    rating = stall_rating(stall=stall)
    assert rating.average is None and rating.count == 0


def test_a_refunded_order_cannot_be_rated(buyer, lamp, steward, key):
    from orders.escrow.services import order_dispute_open, order_dispute_settle

    order = paid_order(buyer, lamp)
    order_dispute_open(actor=buyer, order=order, reason="Broken")
    order_dispute_settle(
        actor=steward, order=order, refund_cents=order.total_cents, reason="Broken"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    with pytest.raises(Conflict):
        review_create(buyer=buyer, order=order, stars=1, text="x", idempotency_key=key())
