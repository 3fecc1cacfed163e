"""The embedded market's job queue: background work kept in the database itself."""

from django.db import models
from django.utils import timezone


class Job(models.Model):
    """One piece of background work queued where there is no broker (no REDIS_URL).

    Written in the transaction that decides the work, so it is queued exactly when
    that transaction commits and survives a restart; run by `bazaar.embedded` inside
    the web process, whose in-memory channel layer reaches every open page. A job
    that succeeds is deleted; one that keeps failing stays, `failed`, for ops to see.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        FAILED = "failed"

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    run_after = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "run_after"], name="job_due")]

    def __str__(self) -> str:
        return f"{self.task} ({self.status})"
