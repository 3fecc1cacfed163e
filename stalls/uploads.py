"""Photo uploads, checked and screened before anyone but the uploader sees them.

Two ways in, one pipeline. The upload form (`upload_receive`) re-encodes the photo
and keeps it in the private holding prefix of default storage; with S3, the browser
asks for a pre-signed POST (`upload_presign`), sends the file to the bucket's holding
prefix, then confirms (`upload_confirm`). Either way a `PhotoUpload` row waits
("Checking…") for the job (`upload_process`): it fetches the held file, checks and
re-encodes it with `stalls.images`, scores it with `governance.screening`, then
publishes it with `stalls.services.photo_add` (score below 0.5), holds it for a
steward (0.5 to 0.88: `upload_review` decides) or refuses it and tells the uploader
(above 0.88). No Photo ever points into the holding prefix, and the media view never
serves it, so nothing unscreened is served. Dispute evidence (`stalls.evidence`) takes
the same path but, once it passes, is kept in a private prefix instead of becoming a
Photo: only the order's parties and stewards see it, through the order's view.

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
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound
from bazaar.ids import new_ulid
from bazaar.jobs import enqueue_on_commit
from governance.models import StewardAction
from governance.screening import HOLD, REJECT, photo_scan
from governance.services import reason_clean, require_steward, steward_action_record
from notifications.models import Kind
from notifications.services import notify

from .images import ImageRefused, ProcessedImage, process_upload
from .models import Item, Photo, PhotoUpload, Stall
from .services import photo_add, require_stall_editor

PROCESS_TASK = "stalls.tasks.photo_upload_process"
REFUSED_AS_NUDITY = (
    "This photo was refused: it appears to show nudity, which the market does not allow."
)

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
    waiting = (
        PhotoUpload.objects.listings()
        .filter(stall=stall, status=PhotoUpload.Status.WAITING, created_at__gte=recent)
        .count()
    )
    if waiting >= MAX_WAITING_UPLOADS:
        raise Conflict("Too many uploads in progress; wait for them to finish.")
    key = f"{settings.UPLOAD_HOLDING_PREFIX}{stall.public_id}/{new_ulid()}"
    upload = PhotoUpload.objects.create(stall=stall, item=item, key=key, direct=True)
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
        PhotoUpload.objects.listings()
        .select_related("stall__seller", "stall__section", "item", "photo")
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
        enqueue_on_commit(PROCESS_TASK, upload_id=upload.pk)
    return upload


def upload_receive(
    *, actor, stall: Stall, item: Item | None, processed: ProcessedImage
) -> PhotoUpload:
    """A photo sent through the upload form, already checked and re-encoded: keep it in
    the holding prefix and queue its screening. The uploader sees "Checking…"."""
    require_stall_editor(actor=actor, stall=stall)
    if item is not None and item.stall_id != stall.pk:
        raise NotAllowed("That item belongs to another stall.")
    limit = settings.PHOTOS_PER_ITEM if item else settings.PHOTOS_PER_STALL
    shown = Photo.objects.filter(stall=stall, item=item).count()
    checking = (
        PhotoUpload.objects.listings()
        .filter(
            stall=stall, item=item, status__in=[PhotoUpload.Status.WAITING, PhotoUpload.Status.HELD]
        )
        .count()
    )
    if shown + checking >= limit:
        raise Conflict(f"At most {limit} photos; delete one first.")
    key = f"{settings.UPLOAD_HOLDING_PREFIX}{stall.public_id}/{processed.name}"
    key = default_storage.save(key, processed.image)
    upload = PhotoUpload.objects.create(stall=stall, item=item, key=key, direct=False)
    enqueue_on_commit(PROCESS_TASK, upload_id=upload.pk)
    return upload


# Reading and dropping the held file


def _read_held(upload: PhotoUpload, client=None) -> bytes | None:
    """The held file's bytes (at most one byte over the limit), or None if absent."""
    if upload.direct:
        return _download(client=client or s3_client(), key=upload.key)
    if not default_storage.exists(upload.key):
        return None
    with default_storage.open(upload.key) as held:
        return held.read(settings.PHOTO_MAX_UPLOAD_BYTES + 1)


def _drop_held(upload: PhotoUpload, client=None) -> None:
    if upload.direct:
        _delete_holding(client=client or s3_client(), key=upload.key)
    else:
        default_storage.delete(upload.key)


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


def _finish(
    *, upload: PhotoUpload, status: str, error: str = "", photo=None, was=PhotoUpload.Status.WAITING
) -> bool:
    """Move an upload on from `was` to its next status; False if another run got
    there first."""
    changed = PhotoUpload.objects.filter(pk=upload.pk, status=was).update(
        status=status, error=error[:200], photo=photo
    )
    return bool(changed)


class _AlreadyFinished(Exception):
    pass


def _discard_files(photo: Photo) -> None:
    for field in (photo.image, photo.thumbnail):
        if field.name:
            field.storage.delete(field.name)


def _refuse(*, client, upload: PhotoUpload, message: str, was=PhotoUpload.Status.WAITING):
    _finish(upload=upload, status=PhotoUpload.Status.REFUSED, error=message, was=was)
    _drop_held(upload, client)
    upload.refresh_from_db()
    return upload


def _tell_uploader(upload: PhotoUpload, title: str, body: str) -> None:
    if upload.is_evidence:
        uploader, where = upload.uploader, reverse("orders:detail", args=[upload.evidence_for])
    elif upload.item_id:
        uploader, where = (
            upload.stall.seller.user,
            reverse("stalls:item_edit", args=[upload.item.public_id]),
        )
    else:
        uploader, where = upload.stall.seller.user, reverse("stalls:dashboard")
    notify(uploader, Kind.PHOTO_SCREENED, title=title, url=where, body=body)


def _keep_evidence(*, client, upload: PhotoUpload, processed, was=PhotoUpload.Status.WAITING):
    """Dispute evidence never becomes a public Photo: it is kept in the private
    evidence prefix, which only the order's authorised view reads, once (a second
    run racing this one discards its copy)."""
    base = f"{settings.EVIDENCE_PREFIX}{upload.evidence_for}/"
    full = default_storage.save(base + processed.name, processed.image)
    thumb = default_storage.save(f"{base}thumbs/{processed.name}", processed.thumbnail)
    kept = PhotoUpload.objects.filter(pk=upload.pk, status=was).update(
        status=PhotoUpload.Status.PUBLISHED, private_key=full, private_thumb_key=thumb
    )
    if kept:
        _drop_held(upload, client)
    else:
        default_storage.delete(full)
        default_storage.delete(thumb)
    upload.refresh_from_db()
    return upload


def _publish(*, client, upload: PhotoUpload, processed, was=PhotoUpload.Status.WAITING):
    """Attach the checked photo to its stall or item, once: two runs racing publish
    one photo (the loser discards its copy). Network errors propagate."""
    if upload.is_evidence:
        return _keep_evidence(client=client, upload=upload, processed=processed, was=was)
    photo = None
    try:
        with transaction.atomic():
            photo = photo_add(
                actor=upload.stall.seller.user,
                stall=upload.stall,
                item=upload.item,
                processed=processed,
            )
            if not _finish(
                upload=upload, status=PhotoUpload.Status.PUBLISHED, photo=photo, was=was
            ):
                raise _AlreadyFinished
    except _AlreadyFinished:
        _discard_files(photo)
    except DomainError as error:
        # The stall or item filled up meanwhile, for example.
        if photo is not None:
            _discard_files(photo)
        return _refuse(client=client, upload=upload, message=error.message, was=was)
    except Exception:
        if photo is not None:
            _discard_files(photo)
        raise
    else:
        _drop_held(upload, client)
    upload.refresh_from_db()
    return upload


def _upload_loaded(upload_id: int) -> PhotoUpload:
    upload = (
        PhotoUpload.objects.select_related(
            "stall__seller__user", "stall__section", "item", "uploader"
        )
        .filter(pk=upload_id)
        .first()
    )
    if upload is None:
        raise NotFound("That upload no longer exists.")
    return upload


def upload_process(*, upload_id: int) -> PhotoUpload:
    """Check and screen an upload, then publish it, hold it for a steward or refuse it.

    Idempotent: only a waiting upload is processed. Network errors (S3 or the
    screening service unreachable) propagate so the task retries.
    """
    upload = _upload_loaded(upload_id)
    if upload.status != PhotoUpload.Status.WAITING:
        return upload
    client = s3_client() if upload.direct else None
    data = _read_held(upload, client)
    if data is None:
        return _refuse(
            client=client, upload=upload, message="We did not receive the file; try again."
        )
    try:
        processed = process_upload(io.BytesIO(data))
    except ImageRefused as refused:
        return _refuse(client=client, upload=upload, message=refused.message)
    verdict, outcome = photo_scan(processed.image.read())
    processed.image.seek(0)
    PhotoUpload.objects.filter(pk=upload.pk).update(
        score=verdict.score,
        backend=verdict.backend,
        labels=verdict.labels,
        screened_at=timezone.now(),
    )
    if outcome == REJECT:
        with transaction.atomic():
            _tell_uploader(upload, "A photo you uploaded was refused", REFUSED_AS_NUDITY)
            return _refuse(client=client, upload=upload, message=REFUSED_AS_NUDITY)
    if outcome == HOLD:
        _finish(upload=upload, status=PhotoUpload.Status.HELD)
        upload.refresh_from_db()
        return upload
    return _publish(client=client, upload=upload, processed=processed)


# Stewards decide what the screening held


def _subject(upload: PhotoUpload) -> str:
    if upload.is_evidence:
        return f"evidence for order {upload.evidence_for}"
    return upload.item.title if upload.item_id else upload.stall.name


def upload_held_image(*, actor, upload_public_id: str) -> bytes:
    """A held photo as a thumbnail, for a steward's eyes only."""
    require_steward(actor, "can see held photos")
    upload = PhotoUpload.objects.filter(
        public_id=upload_public_id, status=PhotoUpload.Status.HELD
    ).first()
    if upload is None:
        raise NotFound("That photo is not waiting for a steward.")
    data = _read_held(upload)
    if data is None:
        raise NotFound("The held file is gone.")
    return process_upload(io.BytesIO(data)).thumbnail.read()


def upload_review(*, actor, upload_public_id: str, approve: bool, reason: str) -> PhotoUpload:
    """A steward publishes a held photo or refuses it; audited, and the uploader told."""
    require_steward(actor, "can review held photos")
    reason = reason_clean(reason, asked="Say why: it goes into the record")
    upload = PhotoUpload.objects.filter(public_id=upload_public_id).first()
    if upload is None:
        raise NotFound("That upload no longer exists.")
    upload = _upload_loaded(upload.pk)
    if upload.status != PhotoUpload.Status.HELD:
        raise Conflict(f"That photo is not held any more ({upload.get_status_display()}).")
    client = s3_client() if upload.direct else None
    was = PhotoUpload.Status.HELD
    with transaction.atomic():
        # The first steward's claim wins; a second sees the reviewer set and stops.
        claimed = PhotoUpload.objects.filter(
            pk=upload.pk, status=was, reviewed_by__isnull=True
        ).update(reviewed_by=actor, reviewed_at=timezone.now())
        if not claimed:
            raise Conflict("Another steward decided that photo just now.")
        steward_action_record(
            actor=actor,
            action=StewardAction.Action.PHOTO_APPROVE
            if approve
            else StewardAction.Action.PHOTO_REJECT,
            target_kind="photo",
            target_ref=upload.public_id,
            target_label=f"Photo for “{_subject(upload)}”",
            reason=reason,
            detail={"score": upload.score, "backend": upload.backend},
        )
        if approve:
            shown = "on the order's timeline" if upload.is_evidence else "on show"
            _tell_uploader(upload, "A steward approved your photo", f"It is {shown} now.")
        else:
            _tell_uploader(
                upload, "A steward refused your photo", f"The steward's reason: {reason}"
            )
    if not approve:
        return _refuse(client=client, upload=upload, message=reason, was=was)
    data = _read_held(upload, client)
    if data is None:
        return _refuse(
            client=client, upload=upload, message="The file is gone; upload it again.", was=was
        )
    return _publish(
        client=client, upload=upload, processed=process_upload(io.BytesIO(data)), was=was
    )
