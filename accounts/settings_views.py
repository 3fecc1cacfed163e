"""The account settings: a hub page and one page per change (email, password, time
zone, where you are signed in). Thin: parse, call a service, render. Closing the
account is privacy's page."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bazaar.errors import DomainError

from . import selectors
from . import services as account_services
from . import settings_services as services
from .settings_forms import EmailChangeForm, TimeZoneForm


def _site_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(initial={"time_zone": request.user.time_zone})
    return render(request, "accounts/settings/hub.html", {"time_zone_form": form})


@login_required
@require_http_methods(["GET", "POST"])
def email_change(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.email_change_request(
                user=request.user,
                new_email=form.cleaned_data["new_email"],
                base_url=_site_url(request),
            )
        except DomainError as error:
            form.add_error("new_email", error.message)
        else:
            messages.success(
                request,
                f"We sent a link to {request.user.email_pending}. Open it to switch your "
                "account to that address; until then we keep using the current one.",
            )
            return redirect("account:hub")
    status = 400 if form.errors else 200
    return render(request, "accounts/settings/email.html", {"form": form}, status=status)


@login_required
@require_POST
def email_change_cancel(request: HttpRequest) -> HttpResponse:
    services.email_change_cancel(user=request.user)
    messages.success(request, "The change of email address is cancelled.")
    return redirect("account:hub")


@require_GET
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed to the new address; it works signed in or not."""
    try:
        user = services.email_change_confirm(token=token)
    except DomainError as error:
        return render(request, "accounts/verify_failed.html", {"error": error}, status=error.status)
    messages.success(request, f"Your email address is now {user.email}.")
    return redirect("account:hub" if request.user.is_authenticated else "accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Django's form; the session is kept (other sessions end, their hash is stale)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        old_key = request.session.session_key
        update_session_auth_hash(request, user)
        account_services.sign_in_after_password_change(
            user=user, old_key=old_key, new_key=request.session.session_key
        )
        services.password_changed_notify(user=user)
        messages.success(request, "Your password is changed. Other devices are logged out.")
        return redirect("account:hub")
    status = 400 if form.errors else 200
    return render(request, "accounts/settings/password.html", {"form": form}, status=status)


@login_required
@require_POST
def time_zone(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        services.time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, f"Times are now shown in {request.user.time_zone}.")
        return redirect("account:hub")
    return render(request, "accounts/settings/hub.html", {"time_zone_form": form}, status=400)


@login_required
@require_GET
def sign_ins(request: HttpRequest) -> HttpResponse:
    current = request.session.session_key
    listed = selectors.sign_ins_for(request.user, current_session_key=current)
    if not any(sign_in.is_current for sign_in in listed):
        # A session begun before the list was kept joins it, so this device is always here.
        account_services.sign_in_record(
            user=request.user,
            session_key=current,
            user_agent=request.headers.get("User-Agent", ""),
        )
        listed = selectors.sign_ins_for(request.user, current_session_key=current)
    return render(request, "accounts/settings/sign_ins.html", {"sign_ins": listed})


@login_required
@require_POST
def sign_in_end(request: HttpRequest, public_id: str) -> HttpResponse:
    """Raises NotFound for a session already ended or not this person's (404, said in
    place by bazaar.errors)."""
    account_services.sign_in_end(user=request.user, public_id=public_id)
    messages.success(request, "That device is signed out.")
    return redirect("account:sign_ins")


@login_required
@require_POST
def sign_ins_end_others(request: HttpRequest) -> HttpResponse:
    ended = account_services.sign_ins_end_others(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(
        request,
        f"Signed out of {ended} other session{'s' if ended != 1 else ''}."
        if ended
        else "You were signed in nowhere else.",
    )
    return redirect("account:sign_ins")
