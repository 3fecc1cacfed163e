"""Background work for notices. Each task calls one service."""

from celery import shared_task

from bazaar.jobs import MAIL_RETRY

from .services import notice_deliver


@shared_task(**MAIL_RETRY)
def deliver_notice(**job) -> str | None:
    """Queued by `notifications.services.notify` after the action commits, with the
    keyword arguments of `notice_deliver`. A retry (the mail server was away) finds
    the notice the first run wrote and only mails."""
    notice = notice_deliver(**job)
    return notice.public_id if notice is not None else None
