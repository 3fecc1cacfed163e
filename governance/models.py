from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from bazaar.ids import PublicIdField


class Role(models.TextChoices):
    """Powers beyond buying. Seller is not here: it is a seller profile in `stalls`."""

    STEWARD = "steward", "Steward"
    OPS = "ops", "Ops"


class RoleGrant(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()}"


class BannedWord(models.Model):
    """A word chat holds back. Stored as a steward typed it; matched in any case, with
    or without accents, spelled out or in leetspeak (see `governance.moderation`)."""

    word = models.CharField(max_length=40)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["word"]
        constraints = [
            models.UniqueConstraint(
                Lower("word"),
                name="banned_word_ci_unique",
                violation_error_message="That word is already banned.",
            )
        ]

    def __str__(self) -> str:
        return self.word


class ChatSanction(models.Model):
    """A steward's mute or ban of one user, in one stall or (stall null) the whole market.

    Active while not lifted, started, and not ended (ends_at null: until lifted).
    Rows are never deleted: they are the record of who sanctioned whom, and why.
    """

    class Kind(models.TextChoices):
        MUTE = "mute", "Mute (cannot chat)"
        BAN = "ban", "Ban (cannot chat or enter the stall room)"

    public_id = PublicIdField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sanctions"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    stall = models.ForeignKey(
        "stalls.Stall",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_sanctions",
        help_text="Leave empty for the whole market.",
    )
    reason = models.CharField(max_length=200, help_text="Shown to the user.")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            # chat_restriction: this user's unlifted sanctions, one index probe.
            models.Index(
                fields=["user", "stall"],
                condition=Q(lifted_at__isnull=True),
                name="sanction_unlifted",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="sanction_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        where = f"in {self.stall}" if self.stall_id else "market-wide"
        return f"{self.get_kind_display().split(' ')[0]} of {self.user} {where}"


class StewardAction(models.Model):
    """What a steward (or ops) did to whom and why: stewards are watched too.

    Written by the service that did the thing, in its transaction; never changed.
    The target is named by kind and public id (it may live in any app) with a label
    as it read then, so the record stays readable after the target changes.
    """

    class Action(models.TextChoices):
        STALL_MOVE = "stall_move", "Moved a stall"
        STALL_SWAP = "stall_swap", "Swapped two stalls"
        REPORT_RESOLVE = "report_resolve", "Resolved a report"
        REPORT_DISMISS = "report_dismiss", "Dismissed a report"
        CHAT_RELEASE = "chat_release", "Released a held chat message"
        CHAT_DELETE = "chat_delete", "Deleted a chat message"
        PHOTO_APPROVE = "photo_approve", "Approved a held photo"
        PHOTO_REJECT = "photo_reject", "Rejected a held photo"
        SANCTION = "sanction", "Muted or banned someone"
        SANCTION_LIFT = "sanction_lift", "Lifted a sanction"
        APPEAL_GRANT = "appeal_grant", "Granted an appeal"
        APPEAL_DENY = "appeal_deny", "Denied an appeal"
        ELECTION_OPEN = "election_open", "Opened a steward election"
        ELECTION_CLOSE = "election_close", "Closed a steward election"
        ELECTION_APPROVE = "election_approve", "Approved an election's result"
        STEWARD_REVOKE = "steward_revoke", "Revoked a steward"
        DISPUTE_DECIDE = "dispute_decide", "Decided a dispute"
        ORDER_READ = "order_read", "Read someone's order"
        DATA_READ = "data_read", "Looked at personal data in the admin"

    public_id = PublicIdField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=24, choices=Action.choices)
    target_kind = models.CharField(max_length=24)
    target_ref = models.CharField(max_length=40)
    target_label = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["actor", "-created_at"], name="steward_action_by_actor"),
            models.Index(fields=["target_kind", "target_ref"], name="steward_action_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor or 'ops'}: {self.get_action_display()} ({self.target_label})"


class Report(models.Model):
    """A signed-in person says a stall, item, chat message or user breaks the rules.

    The target lives in another app: it is named by kind and public id, with its
    label, address and owner as they were when reported. One open report per person
    and target (a second click finds the first). Resolving tells the reporter.
    """

    class TargetKind(models.TextChoices):
        STALL = "stall", "Stall"
        ITEM = "item", "Item"
        CHAT = "chat", "Chat message"
        USER = "user", "User"

    class Reason(models.TextChoices):
        PROHIBITED = "prohibited", "Prohibited or illegal item"
        COUNTERFEIT = "counterfeit", "Counterfeit or replica"
        SCAM = "scam", "Scam or fraud"
        OFFENSIVE = "offensive", "Offensive, hateful or adult content"
        HARASSMENT = "harassment", "Harassment or threats"
        SPAM = "spam", "Spam"
        MISLEADING = "misleading", "Misleading description or photos"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Acted on"
        DISMISSED = "dismissed", "No action needed"

    public_id = PublicIdField()
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    target_kind = models.CharField(max_length=8, choices=TargetKind.choices)
    target_ref = models.CharField(max_length=26)
    target_label = models.CharField(max_length=200)
    target_url = models.CharField(max_length=300, blank=True)
    target_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports_against",
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=500, blank=True, help_text="Told to the reporter.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(status="open"), name="report_open_queue"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_kind", "target_ref"],
                condition=Q(status="open"),
                name="report_one_open_per_target",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_target_kind_display()} “{self.target_label}”: {self.get_reason_display()}"
        )


class SanctionAppeal(models.Model):
    """The sanctioned person asks a steward to think again; one appeal per sanction.
    Granting lifts the sanction; the decision and its reason are told to them."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a steward"
        GRANTED = "granted", "Granted: sanction lifted"
        DENIED = "denied", "Denied: sanction stands"

    public_id = PublicIdField()
    sanction = models.OneToOneField(ChatSanction, on_delete=models.CASCADE, related_name="appeal")
    text = models.CharField(max_length=1000)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    answer = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Appeal of {self.sanction}"
