"""Photo uploads straight from the browser to S3, checked before anyone sees them.

The browser asks for a pre-signed POST (`upload_presign`), sends the file to a
private holding prefix in the bucket, then confirms (`upload_confirm`). A Celery
task (`upload_process`) fetches the object, checks and re-encodes it with
`stalls.images`, stores the result through default storage with
`stalls.services.photo_add`, and deletes the holding object. No Photo ever points
into the holding prefix, so nothing unchecked is served.

Operations: the holding prefix must not be publicly readable (grant public read
on `photos/` and `thumbs/` only), the bucket needs a CORS rule allowing POST from
the site's origin, and a lifecycle rule expiring `holding/` after a day sweeps up
uploads that were never confirmed.
"""

import io
import logging
from datetime import timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bazaar.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from bazaar.ids import new_ulid
from bazaar.jobs import enqueue_on_commit

from .images import ImageRefused, process_upload
from .models import Item, Photo, PhotoUpload, Stall
from .services import photo_add, require_stall_editor

logger = logging.getLogger(__name__)

PRESIGN_EXPIRY_SECONDS = 10 * 60
# Pre-signed POSTs a stall may have outstanding at once (within the expiry window).
MAX_WAITING_UPLOADS = 12
MISSING_OBJECT_CODES = {"NoSuchKey", "404", "NotFound"}


def s3_client():
    """A boto3 S3 client configured like django-storages' S3Storage.

    Credentials come from AWS_S3_ACCESS_KEY_ID/AWS_ACCESS_KEY_ID settings when set,
    otherwise from boto3's usual chain (environment, instance role).
    """
    access_key = getattr(settings, "AWS_S3_ACCESS_KEY_ID", None) or getattr(
        settings, "AWS_ACCESS_KEY_ID", None
    )
    secret_key = getattr(settings, "AWS_S3_SECRET_ACCESS_KEY", None) or getattr(
        settings, "AWS_SECRET_ACCESS_KEY", None
    )
    config = Config(
        signature_version=getattr(settings, "AWS_S3_SIGNATURE_VERSION", None) or "s3v4",
        s3={"addressing_style": getattr(settings, "AWS_S3_ADDRESSING_STYLE", None) or "auto"},
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.session.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key
    ).client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL or None,
        region_name=settings.AWS_S3_REGION_NAME or None,
        config=config,
    )


def _require_direct_uploads() -> None:
    if not settings.AWS_STORAGE_BUCKET_NAME:
        raise Invalid("Direct uploads are not switched on here; use the upload form.")


def upload_presign(*, actor, stall: Stall, item: Item | None) -> dict:
    """Record a waiting upload and sign a browser POST into the holding prefix.

    Returns {"upload_id", "url", "fields"}: the browser posts `fields`, then a
    `Content-Type` field (image/…), then the file as `file`, to `url`.
    """
    _require_direct_uploads()
    require_stall_editor(actor=actor, stall=stall)
    if item is not None and item.stall_id != stall.pk:
        raise NotAllowed("That item belongs to another stall.")
    recent = timezone.now() - timedelta(seconds=PRESIGN_EXPIRY_SECONDS)
    waiting = PhotoUpload.objects.filter(
        stall=stall, status=PhotoUpload.Status.WAITING, created_at__gte=recent
    ).count()
    if waiting >= MAX_WAITING_UPLOADS:
        raise Conflict("Too many uploads in progress; wait for them to finish.")
    key = f"{settings.UPLOAD_HOLDING_PREFIX}{stall.public_id}/{new_ulid()}"
    upload = PhotoUpload.objects.create(stall=stall, item=item, key=key)
    post = s3_client().generate_presigned_post(
        Bucket=settings.AWS_STORAGE_BUCKET_NAME,
        Key=key,
        Conditions=[
            ["content-length-range", 1, settings.PHOTO_MAX_UPLOAD_BYTES],
            ["starts-with", "$Content-Type", "image/"],
        ],
        ExpiresIn=PRESIGN_EXPIRY_SECONDS,
    )
    return {"upload_id": upload.public_id, "url": post["url"], "fields": post["fields"]}


def upload_get(*, actor, upload_public_id: str) -> PhotoUpload:
    """An upload its stall's editor may see; anyone else gets 404, as if missing."""
    upload = (
        PhotoUpload.objects.select_related("stall__seller", "stall__section", "item", "photo")
        .filter(public_id=upload_public_id)
        .first()
    )
    if upload is None or not actor.is_authenticated:
        raise NotFound("No upload has that address.")
    try:
        require_stall_editor(actor=actor, stall=upload.stall)
    except NotAllowed:
        raise NotFound("No upload has that address.") from None
    return upload


def upload_confirm(*, actor, upload_public_id: str) -> PhotoUpload:
    """The browser finished its POST: queue the check once the transaction commits.

    Confirming again is harmless: processing is idempotent.
    """
    upload = upload_get(actor=actor, upload_public_id=upload_public_id)
    if upload.status == PhotoUpload.Status.WAITING:
        enqueue_on_commit("stalls.tasks.photo_upload_process", upload_id=upload.pk)
    return upload


def _download(*, client, key: str) -> bytes | None:
    """The holding object's bytes (at most one byte over the limit), or None if absent."""
    try:
        response = client.get_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in MISSING_OBJECT_CODES:
            return None
        raise
    with response["Body"] as body:
        return body.read(settings.PHOTO_MAX_UPLOAD_BYTES + 1)


def _delete_holding(*, client, key: str) -> None:
    """Best effort: a leftover holding object is never served and the bucket's
    lifecycle rule removes it."""
    try:
        client.delete_object(Bucket=settings.AWS_STORAGE_BUCKET_NAME, Key=key)
    except (BotoCoreError, ClientError):
        logger.warning("Could not delete holding object %s", key, exc_info=True)


def _finish(*, upload: PhotoUpload, status: str, error: str = "", photo=None) -> bool:
    """Move a waiting upload to its final status; False if another run got there first."""
    changed = PhotoUpload.objects.filter(pk=upload.pk, status=PhotoUpload.Status.WAITING).update(
        status=status, error=error[:200], photo=photo
    )
    return bool(changed)


class _AlreadyFinished(Exception):
    pass


def _discard_files(photo: Photo) -> None:
    for field in (photo.image, photo.thumbnail):
        if field.name:
            field.storage.delete(field.name)


def _refuse(*, client, upload: PhotoUpload, message: str) -> PhotoUpload:
    _finish(upload=upload, status=PhotoUpload.Status.REFUSED, error=message)
    _delete_holding(client=client, key=upload.key)
    upload.refresh_from_db()
    return upload


def upload_process(*, upload_id: int) -> PhotoUpload:
    """Check a confirmed upload and publish it as a Photo, or refuse it.

    Idempotent: a published or refused upload is returned unchanged, and two runs
    racing on the same upload publish one photo (the loser discards its copy).
    Network errors (S3 unreachable) propagate so the task retries.
    """
    upload = (
        PhotoUpload.objects.select_related("stall__seller__user", "stall__section", "item")
        .filter(pk=upload_id)
        .first()
    )
    if upload is None:
        raise NotFound("That upload no longer exists.")
    if upload.status != PhotoUpload.Status.WAITING:
        return upload
    client = s3_client()
    data = _download(client=client, key=upload.key)
    if data is None:
        return _refuse(
            client=client, upload=upload, message="We did not receive the file; try again."
        )
    try:
        processed = process_upload(io.BytesIO(data))
    except ImageRefused as refused:
        return _refuse(client=client, upload=upload, message=refused.message)
    photo = None
    try:
        with transaction.atomic():
            photo = photo_add(
                actor=upload.stall.seller.user,
                stall=upload.stall,
                item=upload.item,
                processed=processed,
            )
            if not _finish(upload=upload, status=PhotoUpload.Status.PUBLISHED, photo=photo):
                raise _AlreadyFinished
    except _AlreadyFinished:
        _discard_files(photo)
    except DomainError as error:
        # The stall or item filled up meanwhile, for example.
        if photo is not None:
            _discard_files(photo)
        return _refuse(client=client, upload=upload, message=error.message)
    except Exception:
        if photo is not None:
            _discard_files(photo)
        raise
    else:
        _delete_holding(client=client, key=upload.key)
    upload.refresh_from_db()
    return upload
