from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.static import serve

from bazaar.errors import Conflict, error_response

# Uploaded photos never change: each upload is stored under a new ULID name.
IMMUTABLE = "public, max-age=31536000, immutable"


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers, and the trivial-view baseline of the benchmarks: no database."""
    return HttpResponse("ok", content_type="text/plain")


@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    """Browsers ask for /favicon.ico whatever the page links to."""
    return FileResponse(open(finders.find("favicon.ico"), "rb"), content_type="image/x-icon")


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Uploaded photos from local storage (the embedded default), cached for a year.
    Photos still being screened wait in the holding prefix and dispute evidence in its
    own: neither is ever served here."""
    private = (settings.UPLOAD_HOLDING_PREFIX, settings.EVIDENCE_PREFIX)
    if path.lstrip("/").startswith(private):
        raise Http404("Not here.")
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = IMMUTABLE
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent with an outdated token (signed in or out in another tab since the
    page loaded): said in place for htmx, as a page otherwise."""
    stale = Conflict("This page is out of date: reload it and try again.", code="csrf")
    return error_response(request, stale)
