"""Closing an account, and taking its data away. Thin: parse, call a service or a
selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.services import privacy_notice_acknowledge
from accounts.settings_forms import AccountDeleteForm
from bazaar.errors import DomainError
from bazaar.next_url import safe_next
from bazaar.ratelimit import Rate, rate_check

from . import selectors, services

# An export reads everything a person has: a few a day are plenty.
EXPORT_RATE = Rate(5, 3600, "5 downloads an hour")


@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice: what the market keeps about people, why, for how long, and
    what they can do about it; sign-up asks people to read it."""
    context = {
        "edition": selectors.notice_edition(),
        "analytics_days": settings.ANALYTICS_RETENTION_DAYS,
        "sign_in_records_days": settings.SIGN_IN_RECORDS_DAYS,
        "chat_days": settings.CHAT_RETENTION_DAYS,
        "session_days": settings.SESSION_COOKIE_AGE // 86400,
    }
    return render(request, "privacy/notice.html", context)


@login_required
@require_POST
def notice_seen(request: HttpRequest) -> HttpResponse:
    """The banner's "Got it": this edition is recorded as seen, and the person goes
    back to the page they were on."""
    privacy_notice_acknowledge(user=request.user, version=settings.PRIVACY_NOTICE_VERSION)
    messages.success(request, "Thank you. We have noted that you have seen this edition.")
    return redirect(safe_next(request, "privacy:notice"))


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Says what happens and what stands in the way; deletes on the password."""
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(user=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for trading with us.")
            return redirect("discovery:home")
    blockers = selectors.deletion_blockers(user=request.user)
    status = 409 if request.method == "POST" and blockers else (400 if form.errors else 200)
    return render(
        request, "privacy/delete.html", {"form": form, "blockers": blockers}, status=status
    )


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponse:
    """Their data as one JSON file to save."""
    rate_check("data_export", f"user:{request.user.pk}", EXPORT_RATE)
    export = selectors.account_data_export(user=request.user)
    response = JsonResponse(export, encoder=DjangoJSONEncoder, json_dumps_params={"indent": 2})
    day = timezone.now().date().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="mesh-bazaar-{request.user.handle}-{day}.json"'
    )
    response["Cache-Control"] = "private, no-store"
    return response
