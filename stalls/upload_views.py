"""JSON endpoints for direct-to-S3 photo uploads (see `stalls.uploads`).

Thin: parse, call a service, answer JSON. Domain errors become
{"error": message} with their status; a signed-out caller gets 401.
"""

import json
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from bazaar.errors import DomainError, Invalid, NotFound, UnsupportedMediaType

from . import uploads
from .models import PhotoUpload
from .selectors import item_get, stall_for_user


def _json_view(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Sign-in required; DomainError → {"error": message} with its status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Sign in to upload photos."}, status=401)
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return JsonResponse({"error": error.message}, status=error.status)

    return wrapper


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _body(request: HttpRequest) -> dict:
    """A JSON object body, or the form fields when the body is form-encoded; any
    other body is refused rather than read as an empty form."""
    if request.content_type in FORM_TYPES:
        return request.POST.dict()
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the request as JSON (Content-Type: application/json).")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.")
    return data


def _text(data: dict, name: str) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        raise Invalid(f"`{name}` must be a string.")
    return value.strip()


def _url(request: HttpRequest, name: str, *args) -> str:
    namespace = request.resolver_match.namespace if request.resolver_match else ""
    return reverse(f"{namespace}:{name}" if namespace else name, args=args)


def _upload_json(upload: PhotoUpload) -> dict:
    data = {"upload_id": upload.public_id, "status": upload.status}
    if upload.status == PhotoUpload.Status.REFUSED:
        data["error"] = upload.error
    if upload.status == PhotoUpload.Status.HELD:
        data["message"] = "A steward is taking a look at this photo; it shows once approved."
    if upload.status == PhotoUpload.Status.PUBLISHED and upload.photo is not None:
        data["thumbnail_url"] = upload.photo.thumbnail.url
    return data


@require_POST
@_json_view
def photo_presign(request: HttpRequest) -> JsonResponse:
    """In: {"item": ulid?}. Out: {"upload_id", "url", "fields", "confirm_url", "status_url"}."""
    item_id = _text(_body(request), "item")
    item = item_get(public_id=item_id) if item_id else None
    stall = item.stall if item else stall_for_user(user=request.user)
    if stall is None:
        raise NotFound("Open your stall before adding photos.")
    post = uploads.upload_presign(actor=request.user, stall=stall, item=item)
    post["confirm_url"] = _url(request, "photo_confirm")
    post["status_url"] = _url(request, "photo_upload_status", post["upload_id"])
    return JsonResponse(post)


@require_POST
@_json_view
def photo_confirm(request: HttpRequest) -> JsonResponse:
    """In: {"upload_id": ulid}. Out: {"upload_id", "status"} (202 while waiting)."""
    upload_id = _text(_body(request), "upload_id")
    if not upload_id:
        raise Invalid("Say which upload finished.")
    upload = uploads.upload_confirm(actor=request.user, upload_public_id=upload_id)
    waiting = upload.status == PhotoUpload.Status.WAITING
    return JsonResponse(_upload_json(upload), status=202 if waiting else 200)


@require_GET
@_json_view
def photo_upload_status(request: HttpRequest, public_id: str) -> JsonResponse:
    """Out: {"upload_id", "status", "error"?, "thumbnail_url"?} for the browser to poll."""
    upload = uploads.upload_get(actor=request.user, upload_public_id=public_id)
    return JsonResponse(_upload_json(upload))
