"""What a shopper keeps an eye on: items they saved and stalls they follow.

One row per person and thing, enforced by the database, so saving twice (a double
click, a retried request) is the same as saving once. Rows are not history: they go
with the person, the item or the stall.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Watch(models.Model):
    """A saved item: its watchers hear when its price drops or its auction is ending."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    item = models.ForeignKey("stalls.Item", on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="watch_user_item_unique")
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="watch_user_newest")]


class Follow(models.Model):
    """A followed stall: its followers hear when the seller goes live or lists an item."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    stall = models.ForeignKey("stalls.Stall", on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "stall"], name="follow_user_stall_unique")
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="follow_user_newest")]
