"""Going live, watching and ending: the show's state in the database, the media
server told after commit and never while a row lock is held."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.models import Kind
from analytics.recording import record
from bazaar import jobs
from bazaar.broadcast import broadcast_on_commit
from bazaar.errors import Conflict, Invalid, NotAllowed
from market.consumers import MARKET_GROUP
from stalls.room.overlay import overlay_announce_on_commit

from . import media
from .media import Grant, MediaUnavailable
from .models import MediaEvent, Show, ShowViewer
from .on_air import on_air_publish
from .selectors import show_live_for_stall

log = logging.getLogger(__name__)
TITLE_MAX = 120
VIDEO_TOPIC = "video"  # the stall room's nudge for static/js/shows/stage.js


def _announce(show: Show) -> None:
    """Tell the market's pages (grid cards, the front page's row) and the stall's own
    room (a viewer waiting there connects at once, not at its next poll) after commit."""
    on_air_publish(show)
    overlay_announce_on_commit(
        stall_public_id=show.stall.public_id,
        topic=VIDEO_TOPIC,
        event="started" if show.live else "ended",
    )
    broadcast_on_commit(
        MARKET_GROUP,
        {
            "type": "market.event",
            "payload": {
                "type": "show",
                "stall": show.stall.public_id,
                "show": show.public_id,
                "live": show.live,
                "watching": show.viewer_count,
            },
        },
    )


def _require_seller(*, actor, stall) -> None:
    if not actor.is_authenticated or stall.seller.user_id != actor.pk:
        raise NotAllowed("Only the stall's seller can run its show.")


def show_start(*, actor, stall, title: str) -> Show:
    """Go live: the room is made first (outside any transaction), then the show row.
    Asking again while live returns the show already on air."""
    _require_seller(actor=actor, stall=stall)
    title = " ".join(title.split())
    if not title:
        raise Invalid("Give your show a title, so passers-by know what is on.")
    if len(title) > TITLE_MAX:
        raise Invalid(f"Keep the title to {TITLE_MAX} characters.")
    backend = media.backend()
    if backend is None:
        raise Conflict(media.HOW_TO_ENABLE, code="video_off")
    live = show_live_for_stall(stall=stall)
    if live is not None:
        return live
    room = media.room_name(stall.public_id)
    try:
        backend.room_ensure(room=room)
    except MediaUnavailable as error:
        log.warning("show_start: %s", error)
        raise Conflict(
            "The video server is not answering, so you cannot go live just now. "
            "Try again in a minute.",
            code="media_unavailable",
        ) from error
    _end_silent_shows(stall=stall)
    try:
        with transaction.atomic():
            show = Show.objects.create(stall=stall, title=title, backend=backend.name, room=room)
            _announce(show)
            record(Kind.SHOW_STARTED, user=actor, stall=stall)
    except IntegrityError:
        # The same request twice at once: the other one's show is the answer.
        return Show.objects.get(stall=stall, ended_at__isnull=True)
    return show


def _end_silent_shows(*, stall) -> None:
    """A show whose seller went silent still holds the stall's one live slot until the
    sweep runs; a new start ends it first. Only a silent one: a show another click
    started a moment ago is heard, and the unique live slot makes it the answer."""
    silent = timezone.now() - timedelta(seconds=settings.SHOW_TIMEOUT_SECONDS)
    for show in Show.objects.filter(stall=stall, ended_at__isnull=True, heartbeat_at__lt=silent):
        show_end(show=show, reason=Show.EndReason.LOST, end_room=False)


def show_grant(*, show: Show, user, visitor_id: str) -> Grant:
    """The seller's publishing grant, or a viewer's watching grant."""
    backend = media.backend()
    show.refresh_from_db(fields=["ended_at"])
    if not show.live or backend is None or backend.name != show.backend:
        raise Conflict("This show has ended.", code="show_ended")
    try:
        if user.is_authenticated and show.stall.seller.user_id == user.pk:
            return backend.publisher_grant(
                room=show.room, identity=user.public_id, name=show.stall.name
            )
        return backend.viewer_grant(room=show.room, identity=_viewer_identity(user, visitor_id))
    except MediaUnavailable as error:
        log.warning("show_grant: %s", error)
        raise Conflict(
            "The video server is not answering. Try again in a minute.", code="media_unavailable"
        ) from error


def _viewer_identity(user, visitor_id: str) -> str:
    return user.public_id if user.is_authenticated else f"visitor-{visitor_id}"


def page_viewer_grant(
    *, stall_public_id: str, on_air_entry: dict, user, visitor_id: str, ahead: bool
) -> Grant | None:
    """A viewer's grant rendered into the stall page of a live show, so the video starts
    connecting as the page runs instead of after one more request (the first frame
    sooner), with what the media server lets the server do of the subscribing ahead
    (Janus: all but the page's answer). From the on-air entry: no database. None when
    the show's backend is not the one configured; the page then asks the token
    endpoint. Subscribed ahead only when `ahead` (a browser's own navigation): a bot,
    a prefetch or a fragment would hold a subscription nobody answers until Janus's
    session timeout."""
    backend = media.backend()
    if backend is None or backend.name != on_air_entry["backend"]:
        return None
    grant = backend.viewer_grant(
        room=media.room_name(stall_public_id), identity=_viewer_identity(user, visitor_id)
    )
    return backend.subscribe_ahead(grant=grant) if ahead else grant


def show_heartbeat(*, actor, show: Show) -> Show:
    """The seller's page is still there: the show stays on air."""
    _require_seller(actor=actor, stall=show.stall)
    live = Show.objects.filter(pk=show.pk, ended_at__isnull=True)
    if not live.update(heartbeat_at=timezone.now()):
        raise Conflict("This show has ended.", code="show_ended")
    show.refresh_from_db()
    on_air_publish(show)
    return show


def show_end_by_seller(*, actor, show: Show) -> Show:
    _require_seller(actor=actor, stall=show.stall)
    return show_end(show=show, reason=Show.EndReason.ENDED)


@transaction.atomic
def show_end(*, show: Show, reason: str, end_room: bool = True) -> Show:
    """End the show once (again is a no-op); the room is closed after commit."""
    show = Show.objects.select_for_update().select_related("stall").get(pk=show.pk)
    if not show.live:
        return show
    show.ended_at = timezone.now()
    show.end_reason = reason
    show.viewer_count = 0
    show.save(update_fields=["ended_at", "end_reason", "viewer_count"])
    ShowViewer.objects.filter(show=show, left_at__isnull=True).update(left_at=show.ended_at)
    _announce(show)
    if end_room:
        jobs.enqueue_on_commit("shows.tasks.room_end", backend=show.backend, room=show.room)
    return show


def shows_end_lost() -> int:
    """End the shows whose seller has not been heard for SHOW_TIMEOUT_SECONDS (tab
    closed, connection lost); refresh the counts of Janus shows whose viewers went
    quiet. Run by the schedule every few seconds."""
    now = timezone.now()
    silent = now - timedelta(seconds=settings.SHOW_TIMEOUT_SECONDS)
    lost = list(Show.objects.filter(ended_at__isnull=True, heartbeat_at__lt=silent))
    for show in lost:
        show_end(show=show, reason=Show.EndReason.LOST)
    stale_viewers = ShowViewer.objects.filter(
        show__ended_at__isnull=True, left_at__isnull=True, seen_at__lt=silent
    )
    for show_id in set(stale_viewers.values_list("show_id", flat=True)):
        _count_refresh(show_id=show_id)
    return len(lost)


# Who is watching


def _watching(show: Show) -> Q:
    silent = timezone.now() - timedelta(seconds=settings.SHOW_TIMEOUT_SECONDS)
    seller = show.stall.seller.user.public_id
    return (
        Q(show=show, left_at__isnull=True)
        & (Q(seen_at__isnull=True) | Q(seen_at__gte=silent))
        & ~Q(identity=seller)
    )


@transaction.atomic
def _count_refresh(*, show_id: int) -> Show:
    """Recount from the viewer rows (never +1/-1, so repeats and reordering cannot
    drift it) and announce a change."""
    show = Show.objects.select_for_update().select_related("stall__seller__user").get(pk=show_id)
    if not show.live:
        return show
    count = ShowViewer.objects.filter(_watching(show)).count()
    if count != show.viewer_count:
        show.viewer_count = count
        show.save(update_fields=["viewer_count"])
        _announce(show)
    return show


def viewer_seen(*, show: Show, key: str, identity: str) -> Show:
    """A Janus viewer's page beats (or a viewer came back): present now."""
    if not show.live:
        return show
    now = timezone.now()
    updated = ShowViewer.objects.filter(show=show, key=key).update(seen_at=now, left_at=None)
    if not updated:
        try:
            with transaction.atomic():
                ShowViewer.objects.create(show=show, key=key, identity=identity, seen_at=now)
                _record_joined(show, identity)
        except IntegrityError:
            ShowViewer.objects.filter(show=show, key=key).update(seen_at=now, left_at=None)
    return _count_refresh(show_id=show.pk)


def _record_joined(show: Show, identity: str) -> None:
    """A viewer's first arrival at a show (their heartbeats after it are not events);
    `identity` is the user's public id or the visitor's id, as analytics keys people."""
    record(Kind.VIEWER_JOINED, visitor=identity.removeprefix("visitor-"), stall=show.stall)


def viewer_left(*, show: Show, key: str) -> Show:
    ShowViewer.objects.filter(show=show, key=key, left_at__isnull=True).update(
        left_at=timezone.now()
    )
    return _count_refresh(show_id=show.pk)


# LiveKit's webhooks

PARTICIPANT_EVENTS = {"participant_joined", "participant_left"}


def livekit_event_handle(*, event) -> str:
    """Apply one verified LiveKit webhook event, once by its id, in any order."""
    room = event.room.name if event.HasField("room") else ""
    try:
        with transaction.atomic():
            record = MediaEvent.objects.create(
                event_id=event.id, backend="livekit", type=event.event, room=room, outcome=""
            )
    except IntegrityError:
        return "duplicate"
    show = Show.objects.filter(room=room, backend="livekit").order_by("-started_at").first()
    outcome = "ignored"
    if show is not None and show.live:
        if event.event in PARTICIPANT_EVENTS:
            _participant_event(show=show, event=event)
            outcome = "processed"
        elif event.event == "room_finished":
            show_end(show=show, reason=Show.EndReason.ROOM_FINISHED, end_room=False)
            outcome = "processed"
    MediaEvent.objects.filter(pk=record.pk).update(outcome=outcome)
    return outcome


def _participant_event(*, show: Show, event) -> None:
    """Joined creates the row unless it exists; left marks it left, creating it left
    when the join has not arrived yet. A left row stays left: the later join of the
    same participant sid is older news."""
    participant = event.participant
    at = timezone.now()
    defaults = {"identity": participant.identity}
    with transaction.atomic():
        if event.event == "participant_joined":
            _, created = ShowViewer.objects.get_or_create(
                show=show, key=participant.sid, defaults=defaults
            )
            if created:
                _record_joined(show, participant.identity)
        else:
            row, created = ShowViewer.objects.get_or_create(
                show=show, key=participant.sid, defaults={**defaults, "left_at": at}
            )
            if not created and row.left_at is None:
                ShowViewer.objects.filter(pk=row.pk).update(left_at=at)
    _count_refresh(show_id=show.pk)
