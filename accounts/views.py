"""Sign-up and email verification. Thin: parse, call a service, render.

Log in, log out and password reset are Django's own views, configured in urls.py;
log in and log out read `next` through `bazaar.next_url` like the views here.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from bazaar.errors import DomainError, RateLimited
from bazaar.metrics import refusals
from bazaar.next_url import local_next, safe_next
from bazaar.ratelimit import Rate, rate_limited

from . import login_services, services, settings_services, tokens
from .backends import lockout_name
from .forms import LoginForm, SignupForm

AUTH_BACKEND = "accounts.backends.HandleOrEmailBackend"


class SafeNextMixin:
    """Django's `next` check lets `env` through (a relative URL) and raises on a
    redirect to the login page itself; ours takes a local path or nothing."""

    def get_redirect_url(self) -> str:
        return local_next(self.request)


# Per address. Log-in also locks an account out after AXES_FAILURE_LIMIT failures from
# one address (django-axes); this bounds one address trying many accounts.
LOGIN_RATE = Rate(30, 600, "30 log-ins every 10 minutes")
SIGNUP_RATE = Rate(5, 3600, "5 sign-ups an hour")
PASSWORD_RESET_RATE = Rate(5, 3600, "5 password resets an hour")


class LoginView(SafeNextMixin, auth_views.LoginView):
    """Django's, with the account's own ceiling on failures from browsers it does not
    know (accounts.login_services) beside django-axes's per-address lockout."""

    def post(self, request, *args, **kwargs):
        self.account = lockout_name(request, None)
        self.known_device = login_services.known_device(request, self.account)
        if not self.known_device:
            try:
                login_services.login_try_allowed(self.account)
            except RateLimited as slowed:
                return _login_refused(
                    request, request.POST.get("username", ""), slowed.message, slowed.retry_after
                )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if not self.known_device and form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            login_services.login_failure_record(self.account)
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        login_services.known_device_remember(self.request, response, self.account)
        return response


def login_locked_out(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """django-axes's answer once an account has failed too often from one address:
    the log-in page again, saying so in place (429, Retry-After: the cool-off)."""
    cool_off = settings.AXES_COOLOFF_TIME
    refusals.labels("locked_out").inc()
    return _login_refused(
        request,
        (credentials or {}).get("username", ""),
        "Too many failed log-ins for this account from here. Try again in "
        f"{int(cool_off.total_seconds() // 60)} minutes, or reset your password.",
        int(cool_off.total_seconds()),
    )


def _login_refused(request: HttpRequest, username: str, why: str, retry_after: int) -> HttpResponse:
    """The log-in page again, the name kept and the reason said in place (429)."""
    form = LoginForm(request, initial={"username": username})
    context = {"form": form, "locked_out": why, "next": local_next(request)}
    response = render(request, "accounts/login.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class LogoutView(SafeNextMixin, auth_views.LogoutView):
    """Django's, and the browser is asked to drop what this origin cached and stored
    for the person (ASVS V8.2.3): pages kept by the cache, drafts in local storage.
    Cookies are left alone: the visitor cookie is not personal to the account."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's, plus the mail a changed password gets (as from the settings page), so
    someone who reset another person's password through their mailbox is noticed; every
    session of the account ends at once."""

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sign_ins_end_others(user=form.user, keep_session_key=None)
        settings_services.password_changed_notify(user=form.user)
        return response


def _site_url(request: HttpRequest) -> str:
    """Scheme and host for links in emails, e.g. https://bazaar.example."""
    return f"{request.scheme}://{request.get_host()}"


@require_http_methods(["GET", "POST"])
@rate_limited("signup", SIGNUP_RATE)
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(safe_next(request, "market:home"))
    next_url = local_next(request)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_signup(
                handle=form.cleaned_data["handle"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                base_url=_site_url(request),
                next_url=next_url,
                privacy_notice_version=settings.PRIVACY_NOTICE_VERSION,
            )
        except services.SignupRefused as refused:
            form.add_error(None, refused.errors)
        else:
            # The same answer whether the address was new or an account's already.
            return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


@require_GET
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html", {"link_days": tokens.MAX_AGE.days})


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """Verify the address. For a new account opened by nobody signed in, the link
    asks first (a POST, so another site cannot sign a visitor into an account of its
    own by sending them to its link), then verifies, signs in and goes on to `next`."""
    try:
        user = services.verification_link_user(token=token)
        signs_in = not user.email_verified and not request.user.is_authenticated
        if signs_in and request.method == "GET":
            context = {"account": user, "next": local_next(request)}
            return render(request, "accounts/verify_confirm.html", context)
        user, first = services.email_verify(token=token)
    except DomainError as error:
        return render(request, "accounts/verify_failed.html", {"error": error}, status=error.status)
    if first and signs_in:
        login(request, user, backend=AUTH_BACKEND)
        messages.success(request, f"Welcome to the market, @{user.handle}: your email is verified.")
    else:
        messages.success(request, "Thanks, your email address is verified.")
    return redirect(safe_next(request, "market:home"))


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
