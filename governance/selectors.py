"""Who may do what. Roles are checked on the server, from here; so are chat sanctions."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from bazaar.cache import Cached, kept_together

from .models import BannedWord, ChatSanction, Report, Role, RoleGrant, SanctionAppeal

BUYER = "buyer"
SELLER = "seller"
ROLE_CACHE_SECONDS = 300


def role_cache_key(user_id: int) -> str:
    return f"roles:user:{user_id}"


def user_roles(*, user) -> frozenset[str]:
    """Every signed-in user is a buyer; seller, steward and ops are earned.

    Cached because every page's header asks; services that change roles clear it.
    """
    if not user.is_authenticated:
        return frozenset()
    return kept_together(user_roles_cached(user=user))[0]


def user_roles_cached(*, user) -> Cached:
    """A signed-in user's roles as the cache keeps them, to read with the top bar's
    other values in one round trip (`bazaar.cache.kept_together`)."""

    def read() -> frozenset[str]:
        roles = {BUYER, *RoleGrant.objects.filter(user=user).values_list("role", flat=True)}
        if _has_seller_profile(user):
            roles.add(SELLER)
        return frozenset(roles)

    return Cached(key=role_cache_key(user.pk), read=read, timeout=ROLE_CACHE_SECONDS)


def _has_seller_profile(user) -> bool:
    """Seller profiles are stalls', a layer above governance: asked through the
    profile's relation to the user (`seller_profile`), not by importing stalls."""
    return get_user_model().objects.filter(pk=user.pk, seller_profile__isnull=False).exists()


def user_is_steward(*, user) -> bool:
    return bool({Role.STEWARD, Role.OPS} & user_roles(user=user))


def user_is_ops(*, user) -> bool:
    return Role.OPS in user_roles(user=user)


# Banned words


def banned_word_list() -> list[str]:
    """Every banned word as stored (the canonical forms), oldest first."""
    return list(BannedWord.objects.order_by("pk").values_list("word", flat=True))


# Chat sanctions


@dataclass(frozen=True)
class Restriction:
    """What stops one user chatting in one stall: the strongest active sanction."""

    kind: ChatSanction.Kind
    reason: str
    ends_at: datetime | None
    market_wide: bool

    @property
    def refuses_chat(self) -> bool:
        return True

    @property
    def refuses_entry(self) -> bool:
        """A ban also keeps the user out of the stall room; a mute lets them watch."""
        return self.kind == ChatSanction.Kind.BAN

    @property
    def message(self) -> str:
        """What the chat shows the user, e.g.
        "You are muted in this stall until 14:05 UTC: spamming." """
        where = "the market" if self.market_wide else "this stall"
        if self.kind == ChatSanction.Kind.BAN:
            text = f"You are banned from chatting in {where}"
        else:
            text = f"You are muted in {where}"
        if self.ends_at is not None:
            text += f" until {_when(self.ends_at)}"
        reason = self.reason.strip().rstrip(".")
        return f"{text}: {reason}." if reason else f"{text}."


def _when(moment: datetime) -> str:
    """14:05 UTC today; 3 Dec 14:05 UTC later this year; 3 Dec 2027 14:05 UTC after."""
    moment = moment.astimezone(UTC)
    today = timezone.now().astimezone(UTC).date()
    if moment.date() == today:
        return f"{moment:%H:%M} UTC"
    if moment.year == today.year:
        return f"{moment.day} {moment:%b %H:%M} UTC"
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def sanction_active_q(*, now: datetime) -> Q:
    """Not lifted, started, not ended."""
    return Q(lifted_at__isnull=True, starts_at__lte=now) & (
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


def chat_restriction(*, user, stall) -> Restriction | None:
    """The strongest active sanction on `user` in `stall` (or market-wide; pass
    stall=None to ask about the market only), or None if they may chat.

    Strongest: a ban over a mute, then the one that lasts longest, then market-wide
    over this stall. One query on the `sanction_unlifted` index.
    """
    if not user.is_authenticated:
        return None
    where = Q(stall__isnull=True)
    if stall is not None:
        where |= Q(stall=stall)
    row = (
        ChatSanction.objects.filter(sanction_active_q(now=timezone.now()), where, user=user)
        .annotate(
            strength=Case(
                When(kind=ChatSanction.Kind.BAN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by(
            "strength",
            F("ends_at").desc(nulls_first=True),
            F("stall_id").asc(nulls_first=True),
        )
        .values("kind", "reason", "ends_at", "stall_id")
        .first()
    )
    if row is None:
        return None
    return Restriction(
        kind=ChatSanction.Kind(row["kind"]),
        reason=row["reason"],
        ends_at=row["ends_at"],
        market_wide=row["stall_id"] is None,
    )


# The stewards' queue


def chat_under_open_report():
    """The public ids of chat messages an open report names (a subquery): the message
    stays while a steward has yet to look at it."""
    return Report.objects.filter(
        status=Report.Status.OPEN, target_kind=Report.TargetKind.CHAT
    ).values("target_ref")


def reports_open(*, limit: int) -> tuple[int, list]:
    """Open reports, oldest first, and how many there are."""
    reports = Report.objects.filter(status=Report.Status.OPEN)
    rows = list(reports.select_related("reporter", "target_owner").order_by("created_at")[:limit])
    return reports.count(), rows


def appeals_pending(*, limit: int) -> tuple[int, list]:
    appeals = SanctionAppeal.objects.filter(status=SanctionAppeal.Status.PENDING)
    rows = list(
        appeals.select_related(
            "sanction__user", "sanction__stall", "sanction__created_by"
        ).order_by("created_at")[:limit]
    )
    return appeals.count(), rows


def reports_by_public_ids(*, public_ids: list[str]) -> list:
    return list(Report.objects.filter(public_id__in=public_ids))


def appeals_by_public_ids(*, public_ids: list[str]) -> list:
    return list(SanctionAppeal.objects.filter(public_id__in=public_ids))


def sanctions_of(*, user) -> list[ChatSanction]:
    """A person's own sanctions, newest first, with their appeals."""
    return list(
        ChatSanction.objects.filter(user=user)
        .select_related("stall", "appeal")
        .order_by("-starts_at", "-id")
    )


def reports_made_by(*, user, limit: int = 50) -> list:
    return list(Report.objects.filter(reporter=user).order_by("-created_at")[:limit])


def steward_users() -> list:
    """Everyone who holds the steward role now (for reminders that any may act on)."""
    return list(
        get_user_model().objects.filter(role_grants__role=Role.STEWARD, is_active=True).distinct()
    )
