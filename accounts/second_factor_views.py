"""Two-step verification pages under /account/two-step/: setting up an authenticator
app, passing the step (the admin and the stewards' console send people here), and new
recovery codes. Thin: parse, call accounts.second_factor_services, render."""

import time
from base64 import b32encode, b64encode
from collections.abc import Callable
from functools import wraps
from io import BytesIO
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_otp.plugins.otp_static.models import StaticDevice

from bazaar.errors import DomainError, Invalid, NotAllowed, SecondStepNeeded, with_retry_after
from bazaar.next_url import local_next, safe_next

from . import second_factor_services as services
from . import selectors
from .settings_forms import STEP_UP_ASKED, SecondStepCodeForm


def redirect_to_second_step(request: HttpRequest, back: str) -> HttpResponse:
    """Send someone to pass the second step, then back to `back` (a page to GET: a form
    posted before the step goes back to the admin's index instead)."""
    if request.method != "GET":
        back = reverse("admin:index")
    url = _url_with_next("account:two_step_verify", back)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def second_step_in_force(request: HttpRequest) -> bool:
    """Is the second step passed and still in force here? Asking from a role's page
    counts as using it (`_second_step_used`)."""
    if not selectors.second_step_passed(user=request.user, session=request.session):
        return False
    _second_step_used(request)
    return True


def _second_step_used(request: HttpRequest) -> None:
    """A role's page used while the step is fresh starts its idle clock again (the
    session written at most once a minute); a lapsed step stays lapsed."""
    if not selectors.second_step_fresh(request.session):
        return
    now = time.time()
    if now - request.session[selectors.SECOND_STEP_USED_AT] >= 60:
        request.session[selectors.SECOND_STEP_USED_AT] = now


def _remember_second_step(request: HttpRequest, device) -> None:
    """This session has passed the step with `device`, now."""
    django_otp.login(request, device)
    now = time.time()
    request.session[selectors.SECOND_STEP_PASSED_AT] = now
    request.session[selectors.SECOND_STEP_USED_AT] = now


def step_up(request: HttpRequest, code: str) -> None:
    """Before a steward moves money: nothing if the step was passed in the last
    `selectors.STEP_UP_SECONDS`, else `code` passes it again here. Raises Invalid (no
    code, a wrong one) or RateLimited, with the message to show beside the code."""
    if selectors.second_step_recent(request.session):
        return
    if not code.strip():
        raise Invalid(STEP_UP_ASKED)
    _remember_second_step(request, services.second_factor_verify(user=request.user, code=code))


def second_step_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the pages of role holders, under their own role check: someone signed in
    with a password alone, or whose step has lapsed, is sent to the second step, then
    back."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not second_step_in_force(request):
            return redirect_to_second_step(request, request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def second_step_on_demand(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages everyone signed in uses, where only a role's extra reach needs the
    second step: when the rules ask for it (`SecondStepNeeded`), the person is sent
    to pass it, then back to this page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except SecondStepNeeded:
            return redirect_to_second_step(request, request.get_full_path())
        if request.user.is_staff:
            # The rules checked the device where they needed the step: no second query.
            _second_step_used(request)
        return response

    return wrapper


def _for_roles(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise NotAllowed("Two-step verification is for stewards and ops.")


def _url_with_next(name: str, back: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': back})}" if back else reverse(name)


def _with_next(name: str, request: HttpRequest) -> str:
    """The page `name`, passing this request's safe `next` on."""
    return _url_with_next(name, local_next(request))


@login_required
@require_http_methods(["GET"])
def two_step(request: HttpRequest) -> HttpResponse:
    _for_roles(request)
    return render(request, "accounts/settings/two_step.html", _two_step_context(request))


def _two_step_context(request: HttpRequest, form: SecondStepCodeForm | None = None) -> dict:
    """Its state (on, with recovery codes left), or the set-up: the app's QR code and
    secret, and the first code to confirm it."""
    app = selectors.second_factor_app(request.user)
    context = {"app": app, "form": form or SecondStepCodeForm(), "next": local_next(request)}
    if app:
        context["codes_left"] = selectors.recovery_codes_left(request.user)
        context["passed"] = second_step_in_force(request)
    elif pending := selectors.second_factor_pending(request.user):
        context.update(pending=pending, **_set_up_context(pending))
    return context


def _set_up_context(device) -> dict:
    """The app's QR code (an SVG image) and its secret in groups of four to type."""
    out = BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, border=2).save(out)
    secret = b32encode(device.bin_key).decode()
    return {
        "qr_data_uri": "data:image/svg+xml;base64," + b64encode(out.getvalue()).decode(),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }


@login_required
@require_POST
def two_step_begin(request: HttpRequest) -> HttpResponse:
    _for_roles(request)
    services.second_factor_begin(user=request.user)
    return redirect(_with_next("account:two_step", request))


@login_required
@require_POST
def two_step_confirm(request: HttpRequest) -> HttpResponse:
    """The first code turns it on; this session has passed, and the recovery codes are
    shown once, on this response only."""
    _for_roles(request)
    form = SecondStepCodeForm(request.POST)
    turned_on, refused = _code_checked(form, services.second_factor_confirm, user=request.user)
    if turned_on:
        device, codes = turned_on
        _remember_second_step(request, device)
        return _recovery_codes_page(request, codes, first=True)
    context = _two_step_context(request, form)
    return _refusal_page(request, "accounts/settings/two_step.html", context, refused)


@login_required
@require_http_methods(["GET", "POST"])
def two_step_verify(request: HttpRequest) -> HttpResponse:
    """The second step itself: a code from the app or a recovery code, then on to
    `next` (the admin by default)."""
    _for_roles(request)
    if selectors.second_factor_app(request.user) is None:
        return redirect(_with_next("account:two_step", request))
    # The page asks for nothing else: the cursor starts in the field.
    form = SecondStepCodeForm(request.POST or None, autofocus=True)
    context = {"form": form, "next": local_next(request)}
    template = "accounts/settings/two_step_verify.html"
    if request.method == "GET":
        return render(request, template, context)
    device, refused = _code_checked(form, services.second_factor_verify, user=request.user)
    if device:
        _remember_second_step(request, device)
        if isinstance(device, StaticDevice):
            left = selectors.recovery_codes_left(request.user)
            messages.warning(
                request,
                f"You used a recovery code: {left} left. Make new ones from your "
                "account's two-step verification page before they run out.",
            )
        return redirect(safe_next(request, "admin:index"))
    return _refusal_page(request, template, context, refused)


def _code_checked(form: SecondStepCodeForm, service, **kwargs) -> tuple:
    """(the service's answer for the form's code, None), or (None, its refusal) with
    the refusal's message on the field; (None, None) for a form that did not parse."""
    if not form.is_valid():
        return None, None
    try:
        return service(code=form.cleaned_data["code"], **kwargs), None
    except DomainError as error:
        form.add_error("code", error.message)
        return None, error


def _refusal_page(request, template: str, context: dict, refused: DomainError | None):
    """The form again with its message in place: 400 for a form that did not parse,
    the service's status (and Retry-After while wrong codes cool) otherwise."""
    response = render(request, template, context, status=refused.status if refused else 400)
    return with_retry_after(response, refused)


@login_required
@require_POST
def recovery_codes_renew(request: HttpRequest) -> HttpResponse:
    """New codes need the step passed in this session: a stolen password alone must
    not be able to print them."""
    _for_roles(request)
    if not second_step_in_force(request):
        return redirect_to_second_step(request, reverse("account:two_step"))
    codes = services.recovery_codes_renew(user=request.user)
    return _recovery_codes_page(request, codes, first=False)


def _recovery_codes_page(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    return render(
        request,
        "accounts/settings/recovery_codes.html",
        {"codes": codes, "first": first, "next": local_next(request)},
    )
