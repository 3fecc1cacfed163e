from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Election(models.Model):
    """A steward election for one seat: sellers stand until it opens, vote while it is
    open (one secret vote each), and ops approve the result after it closes."""

    public_id = PublicIdField()
    title = models.CharField(max_length=120)
    opens_at = models.DateTimeField(help_text="Standing closes and voting opens.")
    closes_at = models.DateTimeField(help_text="Voting closes; the tallies are shown.")
    quorum_percent = models.PositiveSmallIntegerField(
        default=20, help_text="Share of active sellers who must vote for the result to count."
    )
    term_days = models.PositiveSmallIntegerField(default=180)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set by ops' approval (stewards.elections.election_approve), once.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="election_closes_after_open"
            ),
            models.CheckConstraint(
                condition=Q(quorum_percent__gte=1, quorum_percent__lte=100),
                name="election_quorum_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Candidacy(models.Model):
    """A seller standing in an election, with their statement."""

    public_id = PublicIdField()
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="candidacies")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="candidacies"
    )
    statement = models.TextField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["election", "user"], name="candidacy_once")]

    def __str__(self) -> str:
        return f"@{self.user} in {self.election}"


class Vote(models.Model):
    """One voter's ballot. Unique per election and voter: the database refuses a
    second. Whom a voter chose is never shown to anyone (no admin, no page)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    candidacy = models.ForeignKey(Candidacy, on_delete=models.PROTECT, related_name="votes")
    cast_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["election", "voter"], name="vote_one_each")]


class StewardTerm(models.Model):
    """A steward's term from an approved election: it ends, or ops revoke it early."""

    public_id = PublicIdField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="steward_terms"
    )
    election = models.OneToOneField(Election, on_delete=models.PROTECT, related_name="term")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"@{self.user}, steward until {self.ends_at:%d %b %Y}"
