"""Dispute evidence: photos a buyer or seller sends with a dispute, through the one
photo pipeline (`stalls.uploads`): checked, re-encoded and screened before anyone
else sees them. One that passes is kept in the private evidence prefix, never as a
public Photo, and read only here, for the order's authorised view (orders decides
who may see an order; this module only stores and reads)."""

from django.conf import settings
from django.core.files.storage import default_storage

from bazaar.errors import Conflict, NotFound
from bazaar.jobs import enqueue_on_commit

from .images import ProcessedImage
from .models import PhotoUpload, Stall
from .uploads import PROCESS_TASK


def evidence_receive(
    *, uploader, stall: Stall, order_ref: str, processed: ProcessedImage
) -> PhotoUpload:
    """Keep a checked photo in the holding prefix and queue its screening; the
    uploader sees "Checking…" on the order's timeline meanwhile. The caller has
    decided that `uploader` may add evidence to the order `order_ref`."""
    limit = settings.DISPUTE_PHOTOS_MAX
    sent = (
        PhotoUpload.objects.filter(evidence_for=order_ref, uploader=uploader)
        .exclude(status=PhotoUpload.Status.REFUSED)
        .count()
    )
    if sent >= limit:
        raise Conflict(f"At most {limit} photos each for a dispute.")
    key = f"{settings.UPLOAD_HOLDING_PREFIX}evidence/{order_ref}/{processed.name}"
    key = default_storage.save(key, processed.image)
    upload = PhotoUpload.objects.create(
        stall=stall, key=key, direct=False, evidence_for=order_ref, uploader=uploader
    )
    enqueue_on_commit(PROCESS_TASK, upload_id=upload.pk)
    return upload


def evidence_image(*, order_ref: str, upload_public_id: str, thumbnail: bool) -> bytes:
    """A screened evidence photo's JPEG bytes (full size or thumbnail). Nothing
    that is still being checked, waits for a steward or was refused is ever read."""
    upload = PhotoUpload.objects.filter(
        public_id=upload_public_id, evidence_for=order_ref, status=PhotoUpload.Status.PUBLISHED
    ).first()
    if upload is None:
        raise NotFound("No photo has that address.")
    with default_storage.open(
        upload.private_thumb_key if thumbnail else upload.private_key
    ) as kept:
        return kept.read()
