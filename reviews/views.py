"""Review pages and actions. Thin: parse, call a service, render.

The two actions answer htmx with the fragment their form lives in (the order page's
review panel, one review of the list), a refusal with its message in place and the
status saying what happened; without JavaScript they redirect with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError
from bazaar.idempotency import key_from_request
from orders.escrow.selectors import order_for_party
from stalls.selectors import stall_get

from . import selectors, services
from .forms import ReplyForm, ReviewForm
from .templatetags.reviews import order_review_context


@login_required
@require_POST
def review_create(request: HttpRequest, public_id: str) -> HttpResponse:
    order = order_for_party(user=request.user, public_id=public_id)
    form = ReviewForm(request.POST)
    error, status = None, 200
    if form.is_valid():
        try:
            services.review_create(
                buyer=request.user,
                order=order,
                idempotency_key=key_from_request(request),
                **form.cleaned_data,
            )
        except DomainError as refused:
            if refused.status in (403, 404):
                raise
            error, status = refused, refused.status
    else:
        status = 400
    if not request.htmx:
        if status == 200:
            messages.success(request, "Thank you: your review is on the stall's page.")
        elif error is not None:
            messages.error(request, error.message)
        else:
            messages.error(request, next(iter(form.errors.values()))[0])
        return redirect("orders:detail", order.public_id)
    context = order_review_context(request, order, form=form, error=error, sent=status == 200)
    return render(request, "reviews/_order_review.html", context, status=status)


@require_GET
def stall_reviews(request: HttpRequest, public_id: str) -> HttpResponse:
    """Every shown review of a stall, newest first, a page at a time."""
    stall = stall_get(public_id=public_id)
    page = Paginator(selectors.reviews_for_stall(stall=stall), selectors.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "reviews/stall_reviews.html",
        {
            "stall": stall,
            "page": page,
            "rating": selectors.stall_rating(stall=stall),
            "is_seller": stall.seller.user_id == request.user.pk,
        },
    )


@login_required
@require_POST
def review_reply(request: HttpRequest, public_id: str) -> HttpResponse:
    review = selectors.review_shown_get(public_id=public_id)
    form = ReplyForm(request.POST, review=review)
    error, status = None, 400
    if form.is_valid():
        try:
            review = services.review_reply(
                actor=request.user,
                review=review,
                text=form.cleaned_data["reply"],
                idempotency_key=key_from_request(request),
            )
            status = 200
        except DomainError as refused:
            if refused.status in (403, 404):
                raise
            error, status = refused, refused.status
    if not request.htmx:
        if status == 200:
            messages.success(request, "Your answer is under the review.")
        else:
            messages.error(request, error.message if error else form.errors["reply"][0])
        return redirect("reviews:stall", review.stall.public_id)
    context = {
        "review": review,
        "is_seller": review.stall.seller.user_id == request.user.pk,
        "reply_form": form if status != 200 else None,
        "error": error,
    }
    return render(request, "reviews/_review.html", context, status=status)
