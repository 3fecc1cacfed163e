"""Background work for stalls. Each task takes ids and calls one service."""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task

from bazaar.errors import NotFound

from .models import Stall
from .room.chat import chat_expire
from .room.document import document_compact
from .services import reservations_release_expired
from .uploads import upload_process

# S3 unreachable, throttled or briefly failing: try again later, with backoff.
NETWORK_ERRORS = (BotoCoreError, ClientError, ConnectionError, TimeoutError)


@shared_task(
    autoretry_for=NETWORK_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def photo_upload_process(upload_id: int) -> str | None:
    """Check a browser upload in the holding prefix and publish or refuse it."""
    try:
        upload = upload_process(upload_id=upload_id)
    except NotFound:
        return None  # the stall or item was deleted meanwhile, taking the upload with it
    return upload.status


@shared_task
def release_expired_reservations() -> int:
    """Beat, every minute: write the release of reservations whose time ran out."""
    return reservations_release_expired()


@shared_task
def expire_chat() -> int:
    """Beat, daily: delete stall chat older than CHAT_RETENTION_DAYS."""
    return chat_expire()


@shared_task
def compact_stall_document(stall_id: int) -> int | None:
    """Queued when a stall's document log grows long: compact it into a new epoch."""
    stall = Stall.objects.filter(pk=stall_id).only("pk", "public_id").first()
    if stall is None:
        return None
    return document_compact(stall_id=stall.pk, stall_public_id=stall.public_id)
