"""Notices: the one way other apps tell a person something happened (`notify`), and
what the person does with them (read them, choose which also come by email).

`notify` is called inside the action that caused the news and costs it nothing but a
queued job: the job (`notifications.tasks.deliver_notice`) runs after the action
commits, writes the notice, rings the person's bell on every open page and sends the
email their settings ask for. A failure there never reaches the action.
"""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from bazaar import jobs
from bazaar.broadcast import broadcast_on_commit
from bazaar.ids import new_ulid
from bazaar.prepared import PreparedInsert, PreparedUpdate

from .email import notice_email_send
from .frames import new_notice_frame, notice_group, unread_frame
from .kinds import EMAILABLE, MAILED_BY_ORDERS
from .models import EmailSettings, Kind, Notice
from .selectors import (
    email_kinds_for,
    email_kinds_in,
    notice_for,
    notice_recipient,
    unread_cache_key,
    unread_count,
)
from .tokens import ALL, unsubscribe_read

DELIVER_TASK = "notifications.tasks.deliver_notice"


def notify(
    recipient,
    kind: str,
    *,
    title: str,
    url: str,
    body: str = "",
    dedupe_key: str | None = None,
) -> None:
    """Tell `recipient` about `kind` once the current transaction commits (at once if
    there is none); a rolled-back action tells nobody.

    `url` is where the notice leads (a path on this site); `dedupe_key`, when given,
    makes a second notice with the same key for the same person a no-op. The job is
    queued robustly: a broker outage is logged, never raised into the action. Only
    a kind that does not exist raises (at once, a bug for the caller's tests).
    """
    if kind not in Kind.values:
        raise ValueError(f"unknown notice kind {kind!r}")
    job = {
        "public_id": new_ulid(),
        "recipient_id": recipient.pk,
        "kind": Kind(kind).value,
        "title": title[:200],
        "url": url[:500],
        "body": body[:1000],
        "dedupe_key": (dedupe_key or "")[:120],
    }

    # A named function, not a partial: Django logs a robust callback's failure by
    # its __qualname__, which a partial lacks (the log call itself would raise).
    def queue_notice() -> None:
        jobs.enqueue_on_commit(DELIVER_TASK, **job)

    transaction.on_commit(queue_notice, robust=True)


def notice_deliver(
    *,
    public_id: str,
    recipient_id: int,
    kind: str,
    title: str,
    url: str,
    body: str = "",
    dedupe_key: str = "",
) -> Notice | None:
    """The job's work, safe to run twice: write the notice (once per `public_id`,
    and once per dedupe key), ring the bell, then send the email if wanted and not
    yet sent. None when the dedupe key was already used or the recipient is gone.

    A new notice is three statements, each compiled once (the recipient with their
    email settings, the INSERT, the bell's count), and its email one more (its mark):
    it cost the worker more CPU than the offer action that asked for it cost the web
    process (issue 15, session offers9)."""
    recipient = notice_recipient(user_id=recipient_id)
    if recipient is None:
        return None
    notice = _NEW_NOTICE.create(
        public_id=public_id,
        recipient=recipient,
        kind=kind,
        title=title,
        url=url,
        body=body,
        dedupe_key=dedupe_key,
    )
    if notice is None:  # written by an earlier run, or the dedupe key's news already told
        notice = Notice.objects.filter(public_id=public_id).first()
        if notice is None:
            return None
        notice.recipient = recipient
    else:
        _ring(recipient, new_notice_frame(notice, unread=unread_count(user=recipient)))
    if notice.emailed_at is None and _email_wanted(notice):
        notice_email_send(notice)
        _EMAILED.run(notice.pk, timezone.now())
    return notice


# The job's writes, compiled once (`bazaar.prepared`); nothing listens to a notice's saving.
_NEW_NOTICE = PreparedInsert(Notice, ignore_conflicts=True)
_EMAILED = PreparedUpdate(lambda pk, at: (Notice.objects.filter(pk=pk), {"emailed_at": at}))


def _ring(user, frame: dict) -> None:
    """The count changed: every open bell hears it, the top bar's cache forgets it."""
    transaction.on_commit(lambda: cache.delete(unread_cache_key(user.pk)))
    broadcast_on_commit(notice_group(user.public_id), {"type": "notice.frame", "frame": frame})


def _email_wanted(notice: Notice) -> bool:
    """As the recipient's settings say (read with them, `notice_recipient`)."""
    user = notice.recipient
    if notice.kind in MAILED_BY_ORDERS or not user.email:
        return False
    return notice.kind in email_kinds_in(getattr(user, "notice_email_settings", None))


def notice_open(*, user, public_id: str) -> Notice | None:
    """Mark one of the person's notices read (clicking it); None if not theirs."""
    notice = notice_for(user=user, public_id=public_id)
    if notice is None:
        return None
    if notice.read_at is None:
        notice.read_at = timezone.now()
        with transaction.atomic():
            changed = Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(
                read_at=notice.read_at
            )
            if changed:
                _ring(user, unread_frame(unread=unread_count(user=user)))
    return notice


def notices_mark_all_read(*, user) -> int:
    with transaction.atomic():
        changed = Notice.objects.filter(recipient=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        if changed:
            _ring(user, unread_frame(unread=0))
    return changed


def email_kinds_set(*, user, kinds: set[str]) -> frozenset[str]:
    """The settings page: exactly these kinds also come by email."""
    chosen = frozenset(kinds) & EMAILABLE
    EmailSettings.objects.update_or_create(
        user=user, defaults={"email_kinds": sorted(chosen), "updated_at": timezone.now()}
    )
    return chosen


def unsubscribe(*, token: str, everything: bool = False):
    """An email's unsubscribe link: stop that kind's emails (or all of them) for the
    person the token was signed for. Returns (user, kind or ALL), or None for a token
    that is not ours or was altered."""
    asked = unsubscribe_read(token)
    if asked is None:
        return None
    user = get_user_model().objects.filter(public_id=asked.user_public_id).first()
    if user is None or (asked.kind != ALL and asked.kind not in EMAILABLE):
        return None
    stop = ALL if everything else asked.kind
    with transaction.atomic():
        kinds = set() if stop == ALL else set(email_kinds_for(user=user)) - {stop}
        email_kinds_set(user=user, kinds=kinds)
    return user, stop
