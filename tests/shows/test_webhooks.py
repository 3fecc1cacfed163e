"""LiveKit's webhooks: signed bodies verified, forged, tampered and replayed refused,
participant events in any order keep the count right."""

import base64
import hashlib
import itertools

import jwt
import pytest
from django.test import override_settings
from django.urls import reverse
from google.protobuf.json_format import MessageToJson
from livekit import api

from shows import services
from shows.models import MediaEvent, Show, ShowViewer

from .conftest import LIVEKIT

pytestmark = pytest.mark.django_db
URL = reverse("shows:livekit_webhook")
ids = itertools.count(1)


@pytest.fixture(autouse=True)
def livekit_settings(settings):
    for name, value in LIVEKIT.items():
        setattr(settings, name, value)


@pytest.fixture
def show(stall):
    return Show.objects.create(stall=stall, title="Vinyl hour", backend="livekit", room="stall-x")


def event(kind: str, *, room="stall-x", sid="", identity="", event_id=None) -> str:
    message = api.WebhookEvent(
        event=kind,
        id=event_id or f"EV_{next(ids)}",
        created_at=1_700_000_000,
        room=api.Room(name=room, sid="RM_1"),
    )
    if sid:
        message.participant.CopyFrom(api.ParticipantInfo(sid=sid, identity=identity))
    return MessageToJson(message)


def signed(body: str, *, secret=LIVEKIT["LIVEKIT_API_SECRET"], key=LIVEKIT["LIVEKIT_API_KEY"]):
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    return api.AccessToken(key, secret).with_sha256(digest).to_jwt()


def signed_at(body: str, *, shift: int) -> str:
    """A validly signed token whose validity starts `shift` seconds from now (its
    not-before and expiry moved together), as a replay or a skewed clock would send."""
    claims = jwt.decode(signed(body), options={"verify_signature": False})
    claims.update(nbf=claims["nbf"] + shift, exp=claims["exp"] + shift)
    return jwt.encode(claims, LIVEKIT["LIVEKIT_API_SECRET"], algorithm="HS256")


def post(client, body: str, token: str):
    return client.post(
        URL, data=body, content_type="application/webhook+json", HTTP_AUTHORIZATION=token
    )


def test_signed_join_counts_a_viewer(client, show):
    body = event("participant_joined", sid="PA_1", identity="visitor-1")
    response = post(client, body, signed(body))
    assert response.status_code == 200 and response.content == b"processed"
    show.refresh_from_db()
    assert show.viewer_count == 1


def test_the_sellers_own_participant_is_not_a_viewer(client, show):
    seller = show.stall.seller.user.public_id
    body = event("participant_joined", sid="PA_S", identity=seller)
    post(client, body, signed(body))
    show.refresh_from_db()
    assert show.viewer_count == 0


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda body: signed(body, secret="x" * 48), id="forged-secret"),
        pytest.param(lambda body: signed(body, key="OTHERKEY"), id="other-api-key"),
        pytest.param(lambda body: signed(body.replace("visitor-1", "visitor-2")), id="tampered"),
        pytest.param(lambda body: "", id="unsigned"),
        pytest.param(lambda body: "not.a.jwt", id="garbage"),
    ],
)
def test_forged_or_tampered_is_refused_and_changes_nothing(client, show, token):
    body = event("participant_joined", sid="PA_1", identity="visitor-1")
    response = post(client, body, token(body))
    assert response.status_code == 400
    assert not MediaEvent.objects.exists() and not ShowViewer.objects.exists()
    show.refresh_from_db()
    assert show.viewer_count == 0


def test_a_replayed_event_is_refused_and_changes_nothing(client, show):
    joined = event("participant_joined", sid="PA_1", identity="visitor-1", event_id="EV_J")
    left = event("participant_left", sid="PA_1", identity="visitor-1", event_id="EV_L")
    post(client, joined, signed(joined))
    post(client, left, signed(left))
    # The join again, verbatim and validly signed: an attacker's (or LiveKit's) replay.
    response = post(client, joined, signed(joined))
    assert response.content == b"duplicate"
    show.refresh_from_db()
    assert show.viewer_count == 0
    assert MediaEvent.objects.count() == 2


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_participant_events_in_any_order_keep_the_count(client, show, order):
    """Two viewers: one joins and leaves, one joins and stays. Whatever the arrival
    order, one is watching at the end."""
    events = [
        event("participant_joined", sid="PA_1", identity="u1"),
        event("participant_left", sid="PA_1", identity="u1"),
        event("participant_joined", sid="PA_2", identity="u2"),
        event("participant_joined", sid="PA_2", identity="u2"),  # delivered twice, new id
    ]
    for index in order:
        post(client, events[index], signed(events[index]))
    show.refresh_from_db()
    assert show.viewer_count == 1


def test_room_finished_ends_the_show(client, show):
    body = event("room_finished")
    post(client, body, signed(body))
    show.refresh_from_db()
    assert not show.live and show.end_reason == Show.EndReason.ROOM_FINISHED


def test_an_event_for_an_ended_show_changes_nothing(client, show):
    services.show_end(show=show, reason=Show.EndReason.ENDED, end_room=False)
    body = event("participant_joined", sid="PA_9", identity="late")
    assert post(client, body, signed(body)).content == b"ignored"
    show.refresh_from_db()
    assert show.viewer_count == 0


@override_settings(LIVEKIT_API_SECRET="")
def test_without_livekit_configured_every_webhook_is_refused(client, show):
    body = event("room_finished")
    assert post(client, body, signed(body)).status_code == 400


@pytest.mark.parametrize(
    ("shift", "refused"),
    [
        pytest.param(600, True, id="ten-minutes-ahead"),
        pytest.param(30, False, id="half-a-minute-ahead"),
        pytest.param(-7 * 3600, True, id="expired"),
    ],
)
def test_a_token_dated_beyond_the_tolerance_either_way_is_refused(client, show, shift, refused):
    """Not-before in the future past livekit-api's one-minute leeway, or an expired
    token, is refused like a forged one; a clock a little ahead is not."""
    body = event("participant_joined", sid="PA_1", identity="visitor-1")
    response = post(client, body, signed_at(body, shift=shift))
    assert (response.status_code == 400) is refused
    show.refresh_from_db()
    assert show.viewer_count == (0 if refused else 1)
