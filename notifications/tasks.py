"""Background work for notices. Each task calls one service."""

from smtplib import SMTPException

from celery import shared_task

from .services import notice_deliver


@shared_task(
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def deliver_notice(
    public_id: str,
    recipient_id: int,
    kind: str,
    title: str,
    url: str,
    body: str = "",
    dedupe_key: str = "",
) -> str | None:
    """Queued by `notifications.services.notify` after the action commits. A retry
    (the mail server was away) finds the notice the first run wrote and only mails."""
    notice = notice_deliver(
        public_id=public_id,
        recipient_id=recipient_id,
        kind=kind,
        title=title,
        url=url,
        body=body,
        dedupe_key=dedupe_key,
    )
    return notice.public_id if notice is not None else None
