"""A stall's live shows, who is watching them, and the media server's events.

The database is the truth for whether a stall is live and how many watch: the media
server's events (LiveKit's webhooks) and the pages' heartbeats (Janus) only feed it.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from bazaar.ids import PublicIdField


class Show(models.Model):
    """One live session of a stall's seller. At most one is live per stall."""

    class Backend(models.TextChoices):
        LIVEKIT = "livekit", "LiveKit"
        JANUS = "janus", "Janus"

    class EndReason(models.TextChoices):
        ENDED = "ended", "Ended by the seller"
        LOST = "lost", "The seller's connection was lost"
        ROOM_FINISHED = "room_finished", "The media server closed the room"

    public_id = PublicIdField()
    stall = models.ForeignKey("stalls.Stall", on_delete=models.CASCADE, related_name="shows")
    title = models.CharField(max_length=120)
    backend = models.CharField(max_length=16, choices=Backend.choices)
    room = models.CharField(max_length=80)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    viewer_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stall"], condition=Q(ended_at__isnull=True), name="show_one_live_per_stall"
            )
        ]
        indexes = [models.Index(fields=["ended_at", "heartbeat_at"], name="show_live")]

    def __str__(self) -> str:
        return self.title

    @property
    def live(self) -> bool:
        return self.ended_at is None


class ShowViewer(models.Model):
    """One participant's presence in a show, keyed by the media server's participant
    id (LiveKit) or the page's visitor id (Janus). `left_at` is final for LiveKit
    (a participant sid never rejoins), so events arriving out of order cannot bring
    a viewer back; a Janus page that beats again after leaving is back."""

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="viewers")
    key = models.CharField(max_length=120)
    identity = models.CharField(max_length=120)
    joined_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["show", "key"], name="show_viewer_unique")]


class MediaEvent(models.Model):
    """Every media-server event we accepted, once by its id: a replay finds it here
    and changes nothing (LiveKit's WebhookReceiver has no replay protection)."""

    event_id = models.CharField(max_length=80, unique=True)
    backend = models.CharField(max_length=16)
    type = models.CharField(max_length=40)
    room = models.CharField(max_length=80, blank=True)
    outcome = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
