"""Real threads on PostgreSQL: the unique index on a review's order decides, so the
same POST repeated while the first is in flight gets the first's review, and two
different reviews of one order at once leave one."""

import threading
import time

import pytest
from django.db import transaction

from bazaar.errors import Conflict
from reviews.models import Review
from reviews.services import review_create, review_reply
from tests.conftest import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_review_sent_twice_at_once_is_written_once(require_postgres, released, buyer):
    def send():
        return review_create(
            buyer=buyer,
            order=released,
            stars=5,
            text="Lovely",
            idempotency_key="same-click-00000001",
        )

    first, second = race(send, send)
    assert isinstance(first, Review) and isinstance(second, Review), (first, second)
    assert first.pk == second.pk
    assert Review.objects.count() == 1


def test_a_repeat_waits_for_the_first_in_flight_and_gets_its_review(
    require_postgres, released, buyer
):
    """Deterministic: the first request has written its row but not committed when the
    repeat arrives; the repeat waits on the unique index, then answers the same."""
    inserted, commit = threading.Event(), threading.Event()
    key = "in-flight-key-00001"

    def first():
        with transaction.atomic():
            review = review_create(
                buyer=buyer, order=released, stars=4, text="Nice", idempotency_key=key
            )
            inserted.set()
            commit.wait(10)
        return review

    def repeat():
        inserted.wait(10)
        threading.Timer(0.3, commit.set).start()
        started = time.monotonic()
        review = review_create(
            buyer=buyer, order=released, stars=4, text="Nice", idempotency_key=key
        )
        return review, time.monotonic() - started

    original, (again, waited) = race(first, repeat)
    assert isinstance(original, Review), original
    assert again.pk == original.pk and waited >= 0.25
    assert Review.objects.count() == 1


def test_two_different_reviews_at_once_leave_one(require_postgres, released, buyer):
    def send(stars):
        return lambda: review_create(
            buyer=buyer,
            order=released,
            stars=stars,
            text="Mine",
            idempotency_key=f"key-{stars}" * 3,
        )

    outcomes = race(send(5), send(1))
    written = [outcome for outcome in outcomes if isinstance(outcome, Review)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, Conflict)]
    assert len(written) == 1 and len(refused) == 1, outcomes
    assert "already rated this order" in refused[0].message
    assert list(Review.objects.values_list("stars", flat=True)) == [written[0].stars]


def test_the_same_answer_sent_twice_at_once_is_written_once(
    require_postgres, released, buyer, stall
):
    review = review_create(
        buyer=buyer, order=released, stars=3, text="Ok", idempotency_key="review-key-000001"
    )

    def answer():
        return review_reply(
            actor=stall.seller.user,
            review=review,
            text="Thanks",
            idempotency_key="answer-key-00001",
        )

    first, second = race(answer, answer)
    assert isinstance(first, Review) and isinstance(second, Review), (first, second)
    assert first.replied_at == second.replied_at
