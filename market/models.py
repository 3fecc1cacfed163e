from django.conf import settings
from django.db import models
from django.utils import timezone

from bazaar.ids import PublicIdField


class Section(models.Model):
    """One square of the market grid; x grows to the right, y downward."""

    public_id = PublicIdField()
    x = models.IntegerField()
    y = models.IntegerField()
    name = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["x", "y"], name="section_xy_unique")]
        ordering = ["y", "x"]

    def __str__(self) -> str:
        return f"{self.x}/{self.y}" + (f" {self.name}" if self.name else "")


class AnalyticsEvent(models.Model):
    """Append-only record of what people did; later issues roll these up.

    `visitor` is the user's public id when signed in, else the visitor cookie id.
    """

    class Kind(models.TextChoices):
        GRID_VIEWED = "grid_viewed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    x = models.IntegerField(null=True)
    y = models.IntegerField(null=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    visitor = models.CharField(max_length=26)
    occurred_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "occurred_at", "x", "y"], name="event_kind_time_xy"),
        ]
