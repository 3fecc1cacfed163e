from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from bazaar.errors import Conflict, error_response


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers, and the trivial-view baseline of the benchmarks: no database."""
    return HttpResponse("ok", content_type="text/plain")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent with an outdated token (signed in or out in another tab since the
    page loaded): said in place for htmx, as a page otherwise."""
    stale = Conflict("This page is out of date: reload it and try again.", code="csrf")
    return error_response(request, stale)
