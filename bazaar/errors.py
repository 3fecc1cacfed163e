"""Domain errors raised by services, mapped to HTTP in one place."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render, resolve_url
from django_htmx.http import HttpResponseClientRedirect


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
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith(
        resolve_url(settings.LOGIN_URL) + "?"
    )
