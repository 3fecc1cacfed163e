"""Domain errors raised by services, and a database that does not answer, mapped to
HTTP in one place."""

import logging
import sys

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.signals import got_request_exception
from django.db import OperationalError
from django.http import HttpResponse
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect

log = logging.getLogger(__name__)

# How long a client is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 5


class DomainError(Exception):
    """A rule said no. `message` is shown to the person who asked."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class Invalid(DomainError):
    status = 400


class NotAllowed(DomainError):
    """A public object (stall, item) that this user may not change: 403."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Missing, or private and not this user's: 404 either way."""

    status = 404
    code = "not_found"


class SecondStepNeeded(DomainError):
    """A role holder's reach beyond their own things (a steward reading someone else's
    order) asked of a session past the password alone: 403 where nothing catches it;
    pages send the person to the second step (`accounts.second_factor_views`)."""

    status = 403
    code = "second_step"


class UnsupportedMediaType(DomainError):
    """A body in a format the endpoint does not read (OWASP ASVS 13.1.5): 415."""

    status = 415
    code = "unsupported_media_type"


class Conflict(DomainError):
    """The request is sound but the state has moved on (stock gone, slot taken)."""

    status = 409
    code = "conflict"


class RateLimited(DomainError):
    """Too many requests of one kind in a short time; nothing was done."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class DomainErrorMiddleware:
    """Turns an uncaught DomainError into a page (or an HTMX fragment) with its message.

    An HTMX request sent to the login page (signed out since the page loaded) would
    have the login page swapped into a panel: the whole page goes there instead, and
    comes back to where the person was."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "htmx", False) and _is_login_redirect(response):
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(redirect_to_login(back).url)
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        return error_response(request, exception)


def error_response(request, error: DomainError):
    """The error's message as a page, or as a fragment for htmx to show in place."""
    template = "partials/error.html" if getattr(request, "htmx", False) else "error.html"
    response = render(request, template, {"error": error}, status=error.status)
    return with_retry_after(response, error)


def with_retry_after(response, error: DomainError | None):
    """`response`, telling when to try again if `error` was a rate limit's."""
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(
        resolve_url(settings.LOGIN_URL) + "?"
    )


class DatabaseUnavailableMiddleware:
    """A request the database failed (it did not answer in time: `bazaar.database`, or
    the connection broke) gets a 503 with Retry-After and a page or htmx fragment that
    says so, with DEBUG on or off, instead of a 500. Second in MIDDLEWARE, so it also
    sees a failure in the middleware below it (a session saved, the signed-in user
    read): those reach it as a 500 response and the `got_request_exception` signal."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "database_failed", False) and response.status_code != 503:
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError):
            return None
        request.database_failed = True
        return unavailable_response(request)


def _note_database_failure(sender, request=None, **kwargs) -> None:
    if request is not None and isinstance(sys.exc_info()[1], OperationalError):
        request.database_failed = True


got_request_exception.connect(_note_database_failure, dispatch_uid="bazaar-database-failed")


def unavailable_response(request) -> HttpResponse:
    """The 503, rendered without the request's context: the context processors and
    the signed-in user would ask the database again."""
    log.warning("503 for %s %s: the database did not answer", request.method, request.path)
    # The header itself: the failure may come before django-htmx's middleware ran.
    htmx = request.headers.get("HX-Request") == "true"
    template = "partials/unavailable.html" if htmx else "unavailable.html"
    context = {"retry_after": RETRY_AFTER_SECONDS, "path": request.get_full_path()}
    response = HttpResponse(render_to_string(template, context), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
