"""Sign-up and email verification. Thin: parse, call a service, render.

Log in, log out and password reset are Django's own views, configured in urls.py.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from bazaar.errors import DomainError

from . import services
from .forms import SignupForm

AUTH_BACKEND = "accounts.backends.HandleOrEmailBackend"


def _safe_next(request: HttpRequest) -> str:
    """The `next` URL if it stays on this site, else ""."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if allowed else ""


def _site_url(request: HttpRequest) -> str:
    """Scheme and host for links in emails, e.g. https://bazaar.example."""
    return f"{request.scheme}://{request.get_host()}"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or "market:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_signup(
                handle=form.cleaned_data["handle"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                base_url=_site_url(request),
            )
        except services.SignupRefused as refused:
            form.add_error(None, refused.errors)
        else:
            login(request, user, backend=AUTH_BACKEND)
            messages.success(
                request,
                f"Welcome to the market, @{user.handle}! Check your email: we sent a link "
                f"to {user.email} to verify your address.",
            )
            return redirect(next_url or "market:home")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


@require_GET
def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.email_verify(token=token)
    except DomainError as error:
        return render(request, "accounts/verify_failed.html", {"error": error}, status=error.status)
    messages.success(request, "Thanks, your email address is verified.")
    return redirect("market:home")


@login_required
@require_http_methods(["GET", "POST"])
def verify_resend(request: HttpRequest) -> HttpResponse:
    """GET shows the button (a landing page for links and logins); POST mails a new link."""
    if request.method == "POST":
        try:
            services.email_verification_send(user=request.user, base_url=_site_url(request))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"We sent a new link to {request.user.email}.")
        return redirect("accounts:verify_resend")
    return render(request, "accounts/verify_resend.html")
