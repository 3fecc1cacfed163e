"""Writes to reviews: a buyer rates the stall of a released order, its seller answers,
a steward hides or shows a review.

A review is written at most once per order: the database's unique index on `order`
decides. A repeat of the same POST (a double click, a retried request) that arrives
while the first is still running waits on that index for the first to commit, then
gets the first's review back, found by the request's idempotency key; a different
request for an order already rated is refused.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from bazaar.cache import changed_on_commit
from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.selectors import user_is_steward
from orders.models import Order

from .models import STARS_MAX, STARS_MIN, Review
from .selectors import rating_scope

TEXT_MAX_LENGTH = 2000


def _clean_text(text: str, *, what: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid(f"Write a few words for your {what}.", code="text_missing")
    if len(text) > TEXT_MAX_LENGTH:
        raise Invalid(
            f"Keep your {what} under {TEXT_MAX_LENGTH:,} characters.", code="text_too_long"
        )
    return text


def _require_reviewable(*, buyer, order: Order) -> None:
    if order.buyer_id != buyer.pk:
        raise NotAllowed("Only the buyer of this order can rate the seller.")
    if order.status != Order.Status.RELEASED:
        raise Conflict(
            "You can rate the seller once the order is released from escrow: after you "
            "confirm that it arrived, or when escrow ends.",
            code="not_released",
        )


def review_create(*, buyer, order: Order, stars: int, text: str, idempotency_key: str) -> Review:
    """The buyer's stars and words for the stall of a released order, once."""
    _require_reviewable(buyer=buyer, order=order)
    if not STARS_MIN <= stars <= STARS_MAX:
        raise Invalid(f"Choose from {STARS_MIN} to {STARS_MAX} stars.", code="stars")
    text = _clean_text(text, what="review")
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order,
                stall_id=order.stall_id,
                buyer=buyer,
                stars=stars,
                text=text,
                idempotency_key=idempotency_key,
            )
            changed_on_commit(rating_scope(order.stall_id))
            return review
    except IntegrityError:
        first = Review.objects.filter(order=order).first()
        if first is None:
            raise
        if first.idempotency_key != idempotency_key:
            raise Conflict("You have already rated this order.", code="already_reviewed") from None
        if (first.stars, first.text) != (stars, text):
            raise Conflict(
                "This form was already sent with another review; reload the page.",
                code="idempotency_key_reused",
            ) from None
        return first


def review_reply(*, actor, review: Review, text: str, idempotency_key: str) -> Review:
    """The stall's seller answers a review, once; a repeat of the same POST gets the
    review back as the first left it."""
    text = _clean_text(text, what="answer")
    with transaction.atomic():
        review = (
            Review.objects.select_for_update(of=("self",))
            .select_related("stall__seller", "buyer")
            .get(pk=review.pk)
        )
        if review.stall.seller.user_id != actor.pk:
            raise NotAllowed("Only the stall's seller can answer this review.")
        if review.replied_at is not None:
            if review.reply_idempotency_key == idempotency_key:
                return review
            raise Conflict("You have already answered this review.", code="already_answered")
        review.reply = text
        review.reply_idempotency_key = idempotency_key
        review.replied_at = timezone.now()
        review.save(update_fields=["reply", "reply_idempotency_key", "replied_at"])
        return review


def _require_steward(actor) -> None:
    if not user_is_steward(user=actor):
        raise NotAllowed("Only stewards hide or show reviews.")


def review_hide(*, actor, review: Review, reason: str) -> Review:
    """A steward takes an abusive review off the stall's page and out of its average."""
    _require_steward(actor)
    if review.hidden_at is None:
        review.hidden_at = timezone.now()
        review.hidden_by = actor
        review.hidden_reason = reason.strip()[:300]
        review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        changed_on_commit(rating_scope(review.stall_id))
    return review


def review_show(*, actor, review: Review) -> Review:
    """A steward puts a hidden review back."""
    _require_steward(actor)
    if review.hidden_at is not None:
        review.hidden_at, review.hidden_by, review.hidden_reason = None, None, ""
        review.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        changed_on_commit(rating_scope(review.stall_id))
    return review
