"""The reviews app's pieces on other apps' pages: the order page's review panel, a
stall's rating, its latest reviews, and the seller's dashboard line."""

from django import template

from orders.models import Order

from ..forms import ReplyForm, ReviewForm
from ..selectors import (
    review_for_order,
    reviews_latest_for_stall,
    reviews_unanswered_count,
    stall_rating,
)

register = template.Library()


def order_review_context(request, order: Order, *, form=None, error=None, sent=False) -> dict:
    """What the order page's review panel shows this viewer: for a released order, the
    buyer's form until they rate it, then the review, which the seller sees too."""
    user = request.user
    review = review_for_order(order=order)
    return {
        "order": order,
        "review": review,
        "released": order.status == Order.Status.RELEASED,
        "is_buyer": order.buyer_id == user.pk,
        "is_seller": order.stall.seller.user_id == user.pk,
        "form": form or ReviewForm(),
        "error": error,
        "sent": sent,
        "request": request,
    }


@register.inclusion_tag("reviews/_order_review.html", takes_context=True)
def order_review_panel(context, order: Order) -> dict:
    return {**order_review_context(context["request"], order), "csrf_token": context["csrf_token"]}


@register.inclusion_tag("reviews/_rating.html")
def stall_rating_line(stall, link: bool = True) -> dict:
    """'4.6 ★ (12 reviews)', said in words to screen readers, linking to the reviews."""
    return {"stall": stall, "rating": stall_rating(stall=stall), "link": link}


@register.simple_tag
def stall_reviewed(stall) -> bool:
    """Whether any review of the stall is shown (its kept rating, read ahead): without
    one, the stall page's reviews section is the same for every viewer, so it is kept."""
    return bool(stall_rating(stall=stall).count)


@register.inclusion_tag("reviews/_stall_reviews.html", takes_context=True)
def stall_reviews_latest(context, stall) -> dict:
    """The stall page's reviews section: the rating and the latest few."""
    rating = stall_rating(stall=stall)
    return {
        "stall": stall,
        "rating": rating,
        "reviews": reviews_latest_for_stall(stall=stall, rating=rating),
        "is_seller": stall.seller.user_id == context["request"].user.pk,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("reviews/_dashboard_line.html")
def seller_reviews_line(stall) -> dict:
    return {
        "stall": stall,
        "rating": stall_rating(stall=stall),
        "unanswered": reviews_unanswered_count(stall=stall),
    }


@register.simple_tag
def reply_form(review) -> ReplyForm:
    return ReplyForm(review=review)


@register.filter
def star_glyphs(stars: int) -> str:
    """Filled and empty stars for a count, e.g. 4 → ★★★★☆ (shown beside words, never alone)."""
    stars = int(stars)
    return "★" * stars + "☆" * (5 - stars)
