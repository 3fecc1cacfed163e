"""Reports, sanctions and appeals as their people see them, and the stewards' queue."""

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.second_factor_views import step_up
from accounts.selectors import STEP_UP_SECONDS, second_step_recent
from bazaar.errors import DomainError
from governance.models import Report
from governance.reports import appeal_create, report_create, sanction_for_user
from governance.selectors import reports_made_by, sanctions_of
from stalls.uploads import upload_held_image

from .access import steward_page
from .queue import ACTIONS, SOURCES, moves_money, queue_act, queue_entries
from .targets import report_target

# Reporting


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, kind: str, public_id: str) -> HttpResponse:
    """A form that says what is reported and asks what is wrong."""
    target = report_target(kind=kind, public_id=public_id)
    context = {"target": target, "reasons": Report.Reason.choices, "chosen": "", "details": ""}
    if request.method == "POST":
        chosen, details = request.POST.get("reason", ""), request.POST.get("details", "")
        try:
            report_create(reporter=request.user, target=target, reason=chosen, details=details)
        except DomainError as error:
            context.update(error=error, chosen=chosen, details=details)
            return render(request, "stewards/report.html", context, status=error.status)
        messages.success(
            request,
            f"Thank you: a steward will look at “{target.label}”. We will tell you the outcome.",
        )
        return redirect("stewards:my_reports")
    return render(request, "stewards/report.html", context)


@login_required
@require_GET
def my_reports(request: HttpRequest) -> HttpResponse:
    return render(
        request, "stewards/my_reports.html", {"reports": reports_made_by(user=request.user)}
    )


@login_required
@require_GET
def my_sanctions(request: HttpRequest) -> HttpResponse:
    return render(
        request, "stewards/my_sanctions.html", {"sanctions": sanctions_of(user=request.user)}
    )


@login_required
@require_POST
def appeal(request: HttpRequest, public_id: str) -> HttpResponse:
    sanction = sanction_for_user(user=request.user, public_id=public_id)
    text = request.POST.get("text", "")
    try:
        appeal_create(user=request.user, sanction=sanction, text=text)
    except DomainError as error:
        context = {
            "sanctions": sanctions_of(user=request.user),
            "error": error,
            "error_for": sanction.public_id,
            "text": text,
        }
        return render(request, "stewards/my_sanctions.html", context, status=error.status)
    messages.success(request, "Your appeal is with the stewards. We will tell you their answer.")
    return redirect("stewards:my_sanctions")


# The stewards' queue


@require_GET
@steward_page("can see held photos")
def held_photo(request: HttpRequest, public_id: str) -> HttpResponse:
    """A photo the screening held, shown to stewards only (never cached)."""
    thumbnail = upload_held_image(actor=request.user, upload_public_id=public_id)
    response = HttpResponse(thumbnail, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def _queue_page(request: HttpRequest, *, error=None, note: str = "", status: int = 200):
    kind = request.GET.get("kind", "")
    kind = kind if kind in SOURCES else ""
    counts, entries = queue_entries(kind=kind)
    if kind:
        entries = [entry for entry in entries if entry.kind == kind]
    context = {
        **admin.site.each_context(request),
        "title": "Steward queue",
        "kind": kind,
        "filters": [(name, source.label, counts[name]) for name, source in SOURCES.items()],
        "total": sum(counts.values()),
        "entries": entries,
        "actions": [(name, action.label) for name, action in ACTIONS.items()],
        "error": error,
        "note": note,
        "step_up_due": not second_step_recent(request.session),
        "step_up_minutes": STEP_UP_SECONDS // 60,
    }
    return TemplateResponse(request, "stewards/queue.html", context, status=status)


@require_GET
@steward_page("work the queue")
def queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request)


@require_POST
@steward_page("work the queue")
def queue_apply(request: HttpRequest) -> HttpResponse:
    note = request.POST.get("note", "")
    action_name = request.POST.get("action", "")
    try:
        if moves_money(action_name):
            step_up(request, request.POST.get("code", ""))
        outcome = queue_act(
            actor=request.user,
            action_name=action_name,
            picks=request.POST.getlist("pick"),
            note=note,
        )
    except DomainError as error:
        return _queue_page(request, error=error, note=note, status=error.status)
    if outcome.done:
        messages.success(request, f"Done: {len(outcome.done)} case(s).")
    for failure in outcome.failed:
        messages.error(request, failure)
    if outcome.skipped:
        messages.warning(request, f"Left {outcome.skipped} case(s) of another kind as they were.")
    kind = request.GET.get("kind", "")
    return redirect(reverse("stewards:queue") + (f"?kind={kind}" if kind in SOURCES else ""))
