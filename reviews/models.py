"""What buyers say about the stalls they bought from, and the sellers' answers.

One review per order (a unique constraint), written by the order's buyer once the
order is released from escrow; the seller may answer it once. Stewards hide abusive
reviews: a hidden review is left out of the stall's page and its average.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField

STARS_MIN, STARS_MAX = 1, 5


class Review(models.Model):
    public_id = PublicIdField()
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="review")
    stall = models.ForeignKey("stalls.Stall", on_delete=models.PROTECT, related_name="reviews")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written"
    )
    stars = models.PositiveSmallIntegerField()
    text = models.TextField(max_length=2000)
    # The key of the POST that wrote it: a repeat of that POST gets this review back.
    idempotency_key = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    reply = models.TextField(max_length=2000, blank=True)
    reply_idempotency_key = models.CharField(max_length=80, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stars__gte=STARS_MIN, stars__lte=STARS_MAX), name="review_stars_range"
            ),
        ]
        indexes = [
            models.Index(
                fields=["stall", "-created_at"],
                condition=Q(hidden_at__isnull=True),
                name="review_stall_shown",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ for {self.stall_id} by {self.buyer_id}"

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None
