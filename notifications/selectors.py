"""Reads, each scoped to the person asking: nobody sees another's notices or settings."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from bazaar.cache import Cached, kept_together
from bazaar.prepared import Prepared

from .kinds import EMAILABLE, EMAILED_BY_DEFAULT
from .models import EmailSettings, Notice


def notices_for(*, user) -> QuerySet[Notice]:
    """The person's notices, newest first."""
    return Notice.objects.filter(recipient=user).order_by("-created_at", "-pk")


def notice_for(*, user, public_id: str) -> Notice | None:
    """One of the person's notices; None for a notice that is someone else's."""
    return notices_for(user=user).filter(public_id=public_id).first()


# Compiled once (`bazaar.prepared`): every notice delivered counts them again.
_UNREAD = Prepared(
    lambda user_id: (
        Notice.objects.filter(recipient_id=user_id, read_at__isnull=True)
        .values("recipient_id")
        .annotate(unread=Count("pk"))
        .values_list("unread")
    )
)


def unread_count(*, user) -> int:
    if not user.is_authenticated:
        return 0
    counted = _UNREAD.first(user.pk)
    return counted[0] if counted else 0


UNREAD_CACHE_SECONDS = 60


def unread_cache_key(user_id: int) -> str:
    return f"notices.unread.{user_id}"


def unread_count_for_top_bar(*, user) -> int:
    """The bell's count as a page is rendered: from the cache, so a page costs no
    query for it (pages keep a query budget). It may lag a change by a moment; the
    bell's socket sends the true count as it connects."""
    if not user.is_authenticated:
        return 0
    return kept_together(unread_cached(user=user))[0]


def unread_cached(*, user) -> Cached:
    """The bell's count as the cache keeps it, to read with the top bar's other
    values in one round trip (`bazaar.cache.kept_together`)."""
    return Cached(
        key=unread_cache_key(user.pk),
        read=lambda: unread_count(user=user),
        timeout=UNREAD_CACHE_SECONDS,
    )


def email_kinds_for(*, user) -> frozenset[str]:
    """The kinds the person also gets by email (the defaults until they choose)."""
    return email_kinds_in(EmailSettings.objects.filter(user=user).first())


def email_kinds_in(row: EmailSettings | None) -> frozenset[str]:
    """The kinds a person's settings row mails (None: no row, the defaults)."""
    if row is None:
        return EMAILED_BY_DEFAULT
    return frozenset(row.email_kinds) & EMAILABLE


# A notice's recipient, if still active, with their email settings: one statement,
# compiled once (`bazaar.prepared`), where the job read the two apart.
_RECIPIENT = Prepared(
    lambda user_id: (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True)
        .select_related("notice_email_settings")
    )
)


def notice_recipient(*, user_id: int):
    """The active user `user_id` with their email settings read (`email_kinds_in(
    getattr(user, "notice_email_settings", None))`), or None."""
    return _RECIPIENT.first(user_id)


def dedupe_keys_used(*, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (recipient id, dedupe key) pairs already have a notice: lets a sweep
    skip asking again for news already given (the job would refuse it anyway)."""
    pairs = set(keys)
    used = Notice.objects.filter(dedupe_key__in={key for _, key in pairs}).values_list(
        "recipient_id", "dedupe_key"
    )
    return set(used) & pairs
