"""Reads for reviews: a stall's rating and reviews (hidden ones left out), and the
review of one order for its buyer and seller."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, QuerySet

from bazaar.cache import kept_keys, kept_until_changed
from bazaar.errors import NotFound
from bazaar.exports import rows

from .models import Review

LATEST_SHOWN = 3
PAGE_SIZE = 20
# A bound for a change made where no service runs (the admin, a shell).
RATING_KEPT_SECONDS = 600


@dataclass(frozen=True)
class Rating:
    """A stall's average stars (one decimal) over `count` shown reviews."""

    average: Decimal | None
    count: int


def _shown() -> QuerySet[Review]:
    return Review.objects.filter(hidden_at__isnull=True)


def rating_scope(stall_id: int) -> str:
    """What `reviews.services` marks changed when a stall's rating may have moved."""
    return f"stall-rating:{stall_id}"


def stall_rating_keys(stall) -> list[str]:
    """What `stall_rating` reads from the cache (the stall page reads it ahead)."""
    return kept_keys(rating_scope(stall.pk), "rating")


def stall_rating(*, stall) -> Rating:
    """One aggregate query over the stall's shown reviews, kept until a review of the
    stall is written, hidden or shown again (every stall page asks it twice)."""
    return kept_until_changed(
        scope=rating_scope(stall.pk),
        name="rating",
        read=lambda: _rating_read(stall),
        timeout=RATING_KEPT_SECONDS,
    )


def _rating_read(stall) -> Rating:
    figures = _shown().filter(stall=stall).aggregate(average=Avg("stars"), count=Count("pk"))
    average = figures["average"]
    if average is not None:
        average = Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return Rating(average=average, count=figures["count"])


def reviews_for_stall(*, stall) -> QuerySet[Review]:
    """The stall's shown reviews, newest first, with their authors."""
    return _shown().filter(stall=stall).select_related("buyer").order_by("-created_at", "-pk")


def reviews_latest_for_stall(*, stall, rating: Rating) -> list[Review]:
    """The stall's latest shown reviews for its page. `rating` is the stall's
    (`stall_rating`): with no shown review in it, none is read. It is kept until a
    review of the stall is written, hidden or shown again, the only ways one comes to
    be shown, so most stalls' pages (no review yet) ask nothing."""
    if not rating.count:
        return []
    return list(reviews_for_stall(stall=stall)[:LATEST_SHOWN])


def review_for_order(*, order) -> Review | None:
    return Review.objects.filter(order=order).first()


def review_shown_get(*, public_id: str) -> Review:
    """A review the public can read (a stall's reviews are public, as the stall is:
    who may answer it is the service's question, 403 for anyone but its seller)."""
    review = _shown().filter(public_id=public_id).select_related("stall__seller").first()
    if review is None:
        raise NotFound("No review has that address.")
    return review


def reviews_unanswered_count(*, stall) -> int:
    return _shown().filter(stall=stall, replied_at__isnull=True).count()


def reviews_export(user) -> dict:
    """The reviews they wrote (with the seller's reply) and those of their stall (with
    their own reply), oldest first."""
    columns = {
        "review": "public_id",
        "stall": "stall__name",
        "order": "order__public_id",
        "stars": "stars",
        "text": "text",
        "reply": "reply",
        "created_at": "created_at",
        "replied_at": "replied_at",
        "hidden_at": "hidden_at",
    }
    return {
        "written": rows(Review.objects.filter(buyer=user).order_by("created_at"), **columns),
        "of_my_stall": rows(
            Review.objects.filter(stall__seller__user=user).order_by("created_at"), **columns
        ),
    }
