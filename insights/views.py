"""The ops dashboard (`/ops/analytics/`, for stewards and ops) and a seller's analytics
(`/dashboard/stall/analytics/`): thin views over analytics' selectors."""

import csv
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.second_factor_views import second_step_required
from bazaar.errors import NotFound
from governance.selectors import user_is_steward
from stalls.selectors import stall_for_user

from . import pages
from .selectors import period_from, stall_now


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Stewards and ops (the market's staff) past the second step, as for the admin;
    anyone else finds no page here."""
    checked = second_step_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_is_steward(user=request.user):
            raise NotFound("There is no page here.")
        return checked(request, *args, **kwargs)

    return wrapper


def _dashboard(request: HttpRequest, template: str, context_for) -> HttpResponse:
    """A dashboard over the asked date range; a refused range is said in place (400)."""
    choice = period_from(request.GET)
    return render(
        request,
        template,
        {**context_for(choice.period), "errors": choice.errors, "query": request.GET},
        status=400 if choice.errors else 200,
    )


@login_required
@require_GET
@staff_page
def ops_dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "insights/ops.html", pages.ops_context)


@login_required
@require_GET
@staff_page
def ops_csv(request: HttpRequest, table: str) -> HttpResponse:
    choice = period_from(request.GET)
    rows = pages.ops_table(table, choice.period)
    if rows is None:
        raise NotFound("There is no such table.")
    period = choice.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"bazaar-{table}-{period.start}-{period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    csv.writer(response).writerows(rows)
    return response


@login_required
@require_GET
def stall_analytics(request: HttpRequest) -> HttpResponse:
    stall = stall_for_user(user=request.user)
    if stall is None:
        return redirect("stalls:dashboard")
    return _dashboard(
        request, "insights/stall.html", lambda period: pages.stall_context(stall, period)
    )


@login_required
@require_GET
def stall_live(request: HttpRequest) -> HttpResponse:
    """HTMX, every few seconds: the people in the seller's stall now."""
    stall = stall_for_user(user=request.user)
    if stall is None:
        raise NotFound("You have no stall.")
    return render(request, "insights/_stall_now.html", {"now": stall_now(stall=stall)})
