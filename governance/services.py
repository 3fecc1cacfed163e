"""Granting and revoking steward and ops powers; the stewards' audit trail; banned
words; chat sanctions."""

from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_set_staff
from bazaar.broadcast import broadcast_on_commit, user_group
from bazaar.errors import Conflict, Invalid, NotAllowed
from notifications.models import Kind
from notifications.services import notify

from .models import BannedWord, ChatSanction, Role, RoleGrant, StewardAction
from .moderation import WORD_MIN_LETTERS, matcher_refresh, word_is_valid, word_key
from .selectors import chat_restriction, role_cache_key, user_is_ops, user_is_steward


def roles_changed(*, user_id: int) -> None:
    """Forget a user's cached roles once the change has committed."""
    transaction.on_commit(lambda: cache.delete(role_cache_key(user_id)))


# The steward role is also a Django group holding exactly the steward permissions: what
# stewards may see in the admin and do through its actions, named "app.codename".
STEWARD_GROUP = "Stewards"
STEWARD_PERMISSIONS = frozenset(
    {
        "governance.view_bannedword",
        "governance.add_bannedword",
        "governance.change_bannedword",
        "governance.delete_bannedword",
        "governance.view_chatsanction",
        "governance.add_chatsanction",
        "governance.change_chatsanction",
        "governance.view_report",
        "governance.change_report",
        "governance.view_sanctionappeal",
        "governance.change_sanctionappeal",
        "stalls.view_chatmessage",
        "stalls.change_chatmessage",
        "stalls.view_stall",
        "stalls.change_stall",
        "stalls.view_item",
        "stalls.view_photoupload",
        "stalls.change_photoupload",
        "orders.view_order",
        "orders.change_order",
        "reviews.view_review",
        "reviews.change_review",
    }
)


def steward_group_sync(**kwargs) -> Group:
    """Make the Stewards group hold exactly STEWARD_PERMISSIONS (after each migrate)."""
    group, _ = Group.objects.get_or_create(name=STEWARD_GROUP)
    wanted = Q(pk__in=[])
    for name in STEWARD_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.set(Permission.objects.filter(wanted))
    return group


@transaction.atomic
def role_grant(*, user, role: Role, granted_by=None) -> RoleGrant:
    """Stewards and ops work in the admin, so a grant also opens it to them; a
    steward joins the Stewards group."""
    grant, _ = RoleGrant.objects.get_or_create(
        user=user, role=role, defaults={"granted_by": granted_by}
    )
    user_set_staff(user=user, is_staff=True)
    if role == Role.STEWARD:
        user.groups.add(Group.objects.get_or_create(name=STEWARD_GROUP)[0])
    roles_changed(user_id=user.pk)
    return grant


@transaction.atomic
def role_revoke(*, user, role: Role) -> None:
    RoleGrant.objects.filter(user=user, role=role).delete()
    if role == Role.STEWARD:
        user.groups.remove(*Group.objects.filter(name=STEWARD_GROUP))
    if not RoleGrant.objects.filter(user=user).exists() and not user.is_superuser:
        user_set_staff(user=user, is_staff=False)
    roles_changed(user_id=user.pk)


def require_steward(actor, doing: str) -> None:
    """Refuse (403) anyone but a steward or ops: "Only stewards {doing}." """
    if actor is None or not actor.is_authenticated or not user_is_steward(user=actor):
        raise NotAllowed(f"Only stewards {doing}.")


# The audit trail


def reason_clean(
    reason: str, *, limit: int = 500, asked: str = "Give a reason: it goes into the record"
) -> str:
    """One line of text a steward typed to say why; refused when empty or too long."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid(f"{asked}.")
    if len(reason) > limit:
        raise Invalid(f"Keep the reason under {limit} characters.")
    return reason


def steward_action_record(
    *,
    actor,
    action: StewardAction.Action,
    target_kind: str,
    target_ref: str,
    target_label: str,
    reason: str,
    detail: dict | None = None,
) -> StewardAction:
    """Write who did what to which thing and why, in the caller's transaction, so a
    rolled-back action leaves no record and a committed one always has one."""
    return StewardAction.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_kind=target_kind,
        target_ref=str(target_ref)[:40],
        target_label=str(target_label)[:200],
        reason=reason[:500],
        detail=detail or {},
    )


def personal_data_read_record(*, actor, target_kind: str, target_ref: str, target_label: str):
    """A steward or ops looked at people's data in the admin (emails, legal names,
    addresses): the look goes on the record, naming what was looked at and never the
    data itself (OWASP ASVS V8.3.5)."""
    return steward_action_record(
        actor=actor,
        action=StewardAction.Action.DATA_READ,
        target_kind=target_kind,
        target_ref=target_ref,
        target_label=target_label,
        reason="Looked at it in the admin.",
    )


# Banned words


def banned_words_changed() -> None:
    """Once the change has committed, every process matches against the new list."""
    transaction.on_commit(matcher_refresh)


def banned_word_check(*, word: str, banned_word: BannedWord | None = None) -> str:
    """The word as it will be stored (trimmed), or Invalid / Conflict. `banned_word`
    is the one being renamed, if any."""
    word = word.strip()
    key = word_key(word)
    if not word_is_valid(key):
        raise Invalid(
            f"Enter one word of at least {WORD_MIN_LETTERS} letters, without digits or "
            "symbols: leetspeak and spelled-out forms are caught automatically."
        )
    others = BannedWord.objects.all()
    if banned_word is not None:
        others = others.exclude(pk=banned_word.pk)
    for existing in others.values_list("word", flat=True):
        if word_key(existing) == key:
            raise Conflict(f"“{existing}” is already banned.")
    return word


@transaction.atomic
def banned_word_add(*, word: str, added_by) -> BannedWord:
    """Ban a word in chat. `added_by` is a steward, or None for ops scripts."""
    if added_by is not None:
        require_steward(added_by, "ban words")
    word = banned_word_check(word=word)
    try:
        with transaction.atomic():
            banned = BannedWord.objects.create(word=word, created_by=added_by)
    except IntegrityError as error:
        raise Conflict(f"“{word}” is already banned.") from error
    banned_words_changed()
    return banned


@transaction.atomic
def banned_word_rename(*, banned_word: BannedWord, word: str, renamed_by) -> BannedWord:
    if renamed_by is not None:
        require_steward(renamed_by, "change banned words")
    banned_word = BannedWord.objects.select_for_update().get(pk=banned_word.pk)
    banned_word.word = banned_word_check(word=word, banned_word=banned_word)
    try:
        with transaction.atomic():
            banned_word.save(update_fields=["word"])
    except IntegrityError as error:
        raise Conflict(f"“{word}” is already banned.") from error
    banned_words_changed()
    return banned_word


@transaction.atomic
def banned_word_remove(*, banned_word: BannedWord, removed_by) -> None:
    if removed_by is not None:
        require_steward(removed_by, "remove banned words")
    BannedWord.objects.filter(pk=banned_word.pk).delete()
    banned_words_changed()


# Chat sanctions


def sanction_impose_check(*, user, imposed_by) -> None:
    """Stewards and ops sanction; a steward cannot sanction ops; nobody themselves."""
    require_steward(imposed_by, "can mute or ban")
    if user.pk == imposed_by.pk:
        raise NotAllowed("You cannot sanction yourself.")
    if user_is_ops(user=user) and not user_is_ops(user=imposed_by):
        raise NotAllowed("Stewards cannot sanction ops.")


@transaction.atomic
def sanction_impose(
    *,
    user,
    kind: ChatSanction.Kind,
    reason: str,
    stall=None,
    duration: timedelta | None,
    imposed_by,
) -> ChatSanction:
    """Mute or ban `user` in `stall` (None: the whole market) from now, for `duration`
    (None: until lifted). `reason` is shown to the user."""
    sanction_impose_check(user=user, imposed_by=imposed_by)
    if kind not in ChatSanction.Kind.values:
        raise Invalid("Choose mute or ban.")
    reason = reason_clean(
        reason,
        limit=ChatSanction._meta.get_field("reason").max_length,
        asked="Give a reason: the user sees it",
    )
    if duration is not None and duration <= timedelta(0):
        raise Invalid("A sanction lasts a positive time, or until lifted.")
    now = timezone.now()
    sanction = ChatSanction.objects.create(
        user=user,
        kind=ChatSanction.Kind(kind),
        stall=stall,
        reason=reason,
        starts_at=now,
        ends_at=None if duration is None else now + duration,
        created_by=imposed_by,
    )
    steward_action_record(
        actor=imposed_by,
        action=StewardAction.Action.SANCTION,
        target_kind="user",
        target_ref=user.public_id,
        target_label=f"@{user.handle}",
        reason=reason,
        detail={
            "sanction": sanction.pk,
            "kind": sanction.kind,
            "stall": stall.public_id if stall else "",
            "ends_at": sanction.ends_at.isoformat() if sanction.ends_at else None,
        },
    )
    restriction = chat_restriction(user=user, stall=stall)
    where = f"in “{stall.name}”" if stall else "in the whole market"
    notify(
        user,
        Kind.SANCTIONED,
        title=f"A steward {'banned' if kind == ChatSanction.Kind.BAN else 'muted'} you {where}",
        url=reverse("stewards:my_sanctions"),
        body=f"The reason: {reason} You can appeal on the page this links to.",
    )
    broadcast_on_commit(
        user_group(user.public_id),
        {
            "type": "chat.sanction",
            "kind": sanction.kind,
            "stall": stall.public_id if stall else "",
            "message": restriction.message if restriction else reason,
        },
    )
    return sanction


@transaction.atomic
def sanction_lift(*, sanction: ChatSanction, lifted_by, reason: str = "") -> ChatSanction:
    """End a sanction now. Lifting one already lifted changes nothing."""
    require_steward(lifted_by, "can lift sanctions")
    if sanction.user_id == lifted_by.pk:
        raise NotAllowed("You cannot lift your own sanction.")
    sanction = ChatSanction.objects.select_for_update().get(pk=sanction.pk)
    if sanction.lifted_at is None:
        sanction.lifted_at = timezone.now()
        sanction.lifted_by = lifted_by
        sanction.save(update_fields=["lifted_at", "lifted_by"])
        steward_action_record(
            actor=lifted_by,
            action=StewardAction.Action.SANCTION_LIFT,
            target_kind="user",
            target_ref=sanction.user.public_id,
            target_label=f"@{sanction.user.handle}",
            reason=" ".join(reason.split()) or "Lifted from the sanctions list.",
            detail={"sanction": sanction.pk},
        )
        # Open stall rooms re-check what still applies (another sanction may).
        broadcast_on_commit(
            user_group(sanction.user.public_id),
            {
                "type": "chat.sanction",
                "kind": "lifted",
                "stall": sanction.stall.public_id if sanction.stall_id else "",
                "message": "",
            },
        )
    return sanction
