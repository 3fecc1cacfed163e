"""Going live, heartbeats, ending, lost connections and Janus viewers' counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from shows import services
from shows.media import HOW_TO_ENABLE
from shows.models import Show
from shows.selectors import live_now, show_live_for_stall
from tests.conftest import race

pytestmark = pytest.mark.django_db


def go_live(stall, title="Vinyl hour"):
    return services.show_start(actor=stall.seller.user, stall=stall, title=title)


def test_the_seller_goes_live_and_the_room_is_made_first(media_server, stall):
    show = go_live(stall)
    assert show.live and show.backend == "janus"
    assert show.room == f"stall-{stall.public_id.lower()}"
    assert media_server.calls == [("ensure", show.room)]
    assert show_live_for_stall(stall=stall) == show


def test_going_live_and_ending_nudge_the_stall_room(
    media_server, stall, django_capture_on_commit_callbacks, monkeypatch
):
    """A viewer already in the stall connects at once, not at its next poll."""
    sent = []
    monkeypatch.setattr("bazaar.broadcast.broadcast_now", lambda group, event: sent.append(event))
    with django_capture_on_commit_callbacks(execute=True):
        show = services.show_start(actor=stall.seller.user, stall=stall, title="Lamps")
        services.show_end(show=show, reason=Show.EndReason.ENDED)
    frames = [event["frame"] for event in sent if event["type"] == "show.frame"]
    assert frames == [
        '{"type": "show", "topic": "video", "event": "started"}',
        '{"type": "show", "topic": "video", "event": "ended"}',
    ]


def test_going_live_again_returns_the_show_on_air(media_server, stall):
    assert go_live(stall) == go_live(stall, "Another title")
    assert Show.objects.count() == 1


def test_only_the_stalls_seller_goes_live(media_server, stall, make_user):
    with pytest.raises(NotAllowed):
        services.show_start(actor=make_user(), stall=stall, title="Mine now")
    assert not Show.objects.exists() and media_server.calls == []


@pytest.mark.parametrize("title", ["", "   ", "x" * 121])
def test_a_show_needs_a_sensible_title(media_server, stall, title):
    with pytest.raises(Invalid):
        go_live(stall, title)
    assert not Show.objects.exists()


def test_without_a_media_server_the_seller_is_told_how_to_enable_video(settings, stall):
    settings.SHOWS_MEDIA = ""
    with pytest.raises(Conflict) as refused:
        go_live(stall)
    assert refused.value.message == HOW_TO_ENABLE
    assert "apt-get install janus" in HOW_TO_ENABLE and "LIVEKIT_URL" in HOW_TO_ENABLE


def test_a_media_server_that_does_not_answer_leaves_nothing_live(media_server, stall):
    media_server.down = True
    with pytest.raises(Conflict, match="video server is not answering"):
        go_live(stall)
    assert not Show.objects.exists()


def test_ending_closes_the_room_after_commit(media_server, stall, on_commit):
    show = go_live(stall)
    on_commit(services.show_end_by_seller, actor=stall.seller.user, show=show)
    show.refresh_from_db()
    assert not show.live and show.end_reason == Show.EndReason.ENDED
    assert media_server.calls[-1] == ("end", show.room)
    # Ending again is a no-op, also for the media server.
    on_commit(services.show_end_by_seller, actor=stall.seller.user, show=show)
    assert [call for call in media_server.calls if call[0] == "end"] == [("end", show.room)]


def test_a_seller_unheard_for_30_seconds_has_ended_the_show(media_server, stall, on_commit):
    show = go_live(stall)
    Show.objects.filter(pk=show.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=29))
    assert on_commit(services.shows_end_lost) == 0
    assert show_live_for_stall(stall=stall) is not None
    Show.objects.filter(pk=show.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert show_live_for_stall(stall=stall) is None  # over at once for readers
    assert on_commit(services.shows_end_lost) == 1
    show.refresh_from_db()
    assert show.end_reason == Show.EndReason.LOST
    assert ("end", show.room) in media_server.calls


def test_a_heartbeat_keeps_the_show_on_air(media_server, stall):
    show = go_live(stall)
    Show.objects.filter(pk=show.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=25))
    services.show_heartbeat(actor=stall.seller.user, show=show)
    services.shows_end_lost()
    show.refresh_from_db()
    assert show.live


def test_a_heartbeat_after_the_end_is_refused(media_server, stall):
    show = go_live(stall)
    services.show_end(show=show, reason=Show.EndReason.ENDED)
    with pytest.raises(Conflict, match="ended"):
        services.show_heartbeat(actor=stall.seller.user, show=show)


def test_a_new_show_ends_a_silent_one_first(media_server, stall):
    old = go_live(stall)
    Show.objects.filter(pk=old.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    new = go_live(stall, "Back again")
    old.refresh_from_db()
    assert new != old and not old.live and new.live


def test_janus_viewers_are_counted_by_their_pages_beats(media_server, stall):
    show = go_live(stall)
    services.viewer_seen(show=show, key="visitor-a", identity="visitor-a")
    services.viewer_seen(show=show, key="visitor-a", identity="visitor-a")
    show = services.viewer_seen(show=show, key="user-b", identity="b")
    assert show.viewer_count == 2
    show = services.viewer_left(show=show, key="visitor-a")
    assert show.viewer_count == 1
    show.viewers.filter(key="user-b").update(seen_at=timezone.now() - timedelta(seconds=40))
    services.shows_end_lost()  # the seller beat a moment ago; only the viewer went quiet
    show.refresh_from_db()
    assert show.live and show.viewer_count == 0


def test_the_seller_watching_their_own_stall_is_not_counted(media_server, stall):
    show = go_live(stall)
    seller = stall.seller.user.public_id
    show = services.viewer_seen(show=show, key=f"user-{seller}", identity=seller)
    assert show.viewer_count == 0


def test_grants_the_seller_publishing_and_anyone_else_watching(media_server, stall, make_user):
    show = go_live(stall)
    seller = services.show_grant(show=show, user=stall.seller.user, visitor_id="v1")
    assert seller.role == "publisher" and seller.identity == stall.seller.user.public_id
    buyer = make_user()
    assert services.show_grant(show=show, user=buyer, visitor_id="v2").identity == buyer.public_id


def test_no_grant_for_an_ended_show(media_server, stall, make_user):
    show = go_live(stall)
    services.show_end(show=show, reason=Show.EndReason.ENDED)
    with pytest.raises(Conflict, match="ended"):
        services.show_grant(show=show, user=make_user(), visitor_id="v")


def test_live_now_lists_the_most_watched_first(media_server, make_stall):
    quiet, busy = make_stall("quiet", slot=1), make_stall("busy", slot=2)
    go_live(quiet)
    show = go_live(busy)
    services.viewer_seen(show=show, key="visitor-a", identity="visitor-a")
    assert [s.stall for s in live_now()] == [busy, quiet]


# The endpoints


def test_endpoints_answer_errors_in_json_for_the_page(client, media_server, stall, make_user):
    url = reverse("shows:start", args=[stall.public_id])
    response = client.post(url, {"title": "x"})
    assert response.status_code == 403 and "Log in" in response.json()["error"]["message"]
    client.force_login(make_user())
    response = client.post(url, {"title": "x"})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Only the stall's seller can run its show."


def test_the_page_goes_live_beats_gets_its_grant_and_ends(client, media_server, stall):
    client.force_login(stall.seller.user)
    started = client.post(reverse("shows:start", args=[stall.public_id]), {"title": "Hi"})
    assert started.status_code == 201
    show_id = started.json()["show"]
    grant = client.post(reverse("shows:token", args=[show_id]))
    assert grant.json()["role"] == "publisher" and "no-store" in grant["Cache-Control"]
    beat = client.post(reverse("shows:heartbeat", args=[show_id]))
    assert beat.json()["live"] is True
    ended = client.post(reverse("shows:end", args=[show_id]))
    assert ended.json()["live"] is False
    state = client.get(reverse("shows:stall_state", args=[stall.public_id]))
    assert state.json() == {"live": False}


def test_a_visitor_watches_without_an_account(client, media_server, stall):
    show = go_live(stall)
    grant = client.post(reverse("shows:token", args=[show.public_id])).json()
    assert grant["role"] == "viewer" and grant["identity"].startswith("visitor-")
    watching = client.post(reverse("shows:watching", args=[show.public_id])).json()
    assert watching["watching"] == 1
    left = client.post(reverse("shows:leave", args=[show.public_id])).json()
    assert left["watching"] == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_go_live_clicks_at_once_make_one_show(require_postgres, media_server, stall):
    outcomes = race(*[lambda: go_live(stall)] * 4)
    assert all(isinstance(outcome, Show) for outcome in outcomes), outcomes
    assert len({outcome.pk for outcome in outcomes}) == 1
    assert Show.objects.count() == 1
    connection.close()


def test_going_live_and_each_viewers_first_arrival_are_recorded_for_analytics(
    media_server, stall, django_capture_on_commit_callbacks
):
    """Issue 17's events: a show started, and a viewer joined once however often their
    page beats; a visitor is keyed as analytics keys visitors (their cookie's id)."""
    from analytics.models import Event, Kind
    from analytics.recording import events_flush

    with django_capture_on_commit_callbacks(execute=True):
        show = go_live(stall)
        for _ in range(3):
            services.viewer_seen(show=show, key="visitor-a", identity="visitor-a")
        services.viewer_seen(show=show, key="user-b", identity="b")
    events_flush()
    seen = sorted(Event.objects.values_list("kind", "visitor", "stall_id"))
    assert seen == sorted(
        [
            (Kind.SHOW_STARTED, stall.seller.user.public_id, stall.pk),
            (Kind.VIEWER_JOINED, "a", stall.pk),
            (Kind.VIEWER_JOINED, "b", stall.pk),
        ]
    )
