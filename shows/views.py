"""The show's endpoints, answered in JSON for the show's script; LiveKit's webhook.
Thin: parse, call a service, answer."""

from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bazaar.errors import DomainError
from stalls.selectors import stall_get

from . import selectors, services
from .media.livekit import webhook_receive
from .models import Show
from .on_air import on_air


def _json_errors(view):
    """A refused request answers {"error": {"code", "message"}} with its status, so the
    page shows the message in place."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and getattr(view, "sellers_only", False):
            error = {"code": "login", "message": "Log in as the stall's seller to go live."}
            return JsonResponse({"error": error}, status=403)
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            body = {"error": {"code": error.code, "message": error.message}}
            return JsonResponse(body, status=error.status)

    return require_POST(wrapper)


def _sellers_only(view):
    view.sellers_only = True
    return view


def show_state(show: Show) -> dict:
    return {
        "show": show.public_id,
        "live": show.live,
        "title": show.title,
        "watching": show.viewer_count,
        "started_at": show.started_at.isoformat(),
        "end_reason": show.end_reason,
    }


@_json_errors
@_sellers_only
def show_start(request: HttpRequest, public_id: str) -> JsonResponse:
    stall = stall_get(public_id=public_id)
    show = services.show_start(actor=request.user, stall=stall, title=request.POST.get("title", ""))
    return JsonResponse(show_state(show), status=201)


@_json_errors
def show_token(request: HttpRequest, public_id: str) -> JsonResponse:
    show = selectors.show_get(public_id=public_id)
    grant = services.show_grant(show=show, user=request.user, visitor_id=request.visitor_id)
    response = JsonResponse(grant.as_json())
    response["Cache-Control"] = "no-store"
    return response


@_json_errors
@_sellers_only
def show_heartbeat(request: HttpRequest, public_id: str) -> JsonResponse:
    show = services.show_heartbeat(actor=request.user, show=selectors.show_get(public_id=public_id))
    return JsonResponse(show_state(show))


@_json_errors
@_sellers_only
def show_end(request: HttpRequest, public_id: str) -> JsonResponse:
    show = selectors.show_get(public_id=public_id)
    return JsonResponse(show_state(services.show_end_by_seller(actor=request.user, show=show)))


def _viewer_key(request: HttpRequest) -> tuple[str, str]:
    if request.user.is_authenticated:
        return f"user-{request.user.public_id}", request.user.public_id
    return f"visitor-{request.visitor_id}", f"visitor-{request.visitor_id}"


@_json_errors
def show_watching(request: HttpRequest, public_id: str) -> JsonResponse:
    """A viewer's page beats while the video plays: counted (Janus) and told the state."""
    show = selectors.show_get(public_id=public_id)
    if show.backend == Show.Backend.JANUS:
        key, identity = _viewer_key(request)
        show = services.viewer_seen(show=show, key=key, identity=identity)
    return JsonResponse(show_state(show))


@_json_errors
def show_leave(request: HttpRequest, public_id: str) -> JsonResponse:
    show = selectors.show_get(public_id=public_id)
    if show.backend == Show.Backend.JANUS:
        show = services.viewer_left(show=show, key=_viewer_key(request)[0])
    return JsonResponse(show_state(show))


@csrf_exempt
@require_POST
def livekit_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhook_receive(
            body=request.body.decode("utf-8"),
            authorization=request.headers.get("Authorization", ""),
        )
    except (ValueError, UnicodeDecodeError) as error:
        return HttpResponseBadRequest(f"refused: {error}", content_type="text/plain")
    return HttpResponse(services.livekit_event_handle(event=event), content_type="text/plain")


def stall_show_state(request: HttpRequest, public_id: str) -> JsonResponse:
    """Whether a stall is live now: the viewer's page asks every few seconds while
    nothing is on, so this reads the cache's copy only (no database)."""
    entry = on_air(stall_public_ids=[public_id]).get(public_id)
    if entry is None:
        return JsonResponse({"live": False})
    return JsonResponse({"live": True, **entry})
