"""Domain errors raised by services, mapped to HTTP in one place."""

from django.shortcuts import render


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


class DomainErrorMiddleware:
    """Turns an uncaught DomainError into a page (or an HTMX fragment) with its message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        template = "partials/error.html" if getattr(request, "htmx", False) else "error.html"
        return render(request, template, {"error": exception}, status=exception.status)
