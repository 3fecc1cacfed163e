"""The show on other apps' pages: the grid card's badge, the stall page's stage or
panel, the front page's Live now row, and the cache copy they read."""

import json

import pytest
from django.urls import reverse

from shows import media, services
from shows.media import HOW_TO_ENABLE
from shows.models import Show
from shows.on_air import on_air

pytestmark = pytest.mark.django_db


def go_live(stall, on_commit, title="Vinyl hour"):
    return on_commit(services.show_start, actor=stall.seller.user, stall=stall, title=title)


def test_the_grid_card_says_live_and_how_many_watch(client, media_server, stall, on_commit):
    show = go_live(stall, on_commit)
    on_commit(services.viewer_seen, show=show, key="visitor-a", identity="visitor-a")
    html = client.get(reverse("market:section", args=[0, 0])).content.decode()
    badge = html.split(f'data-show-badge="{stall.public_id}"')[1].split("</span> watching")[0]
    assert "hidden" not in badge.split(">")[0]
    assert "LIVE" in badge and badge.endswith(">1")


def test_the_badge_goes_when_the_show_ends(client, media_server, stall, on_commit):
    show = go_live(stall, on_commit)
    on_commit(services.show_end, show=show, reason=Show.EndReason.ENDED)
    assert on_air(stall_public_ids=[stall.public_id]) == {}
    html = client.get(reverse("market:section", args=[0, 0])).content.decode()
    assert f'data-show-badge="{stall.public_id}" hidden' in html


def test_a_viewer_entering_a_live_stall_gets_the_stage(client, media_server, stall, on_commit):
    show = go_live(stall, on_commit)
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert f'data-show="{show.public_id}"' in html
    assert "autoplay muted playsinline" in html
    assert "Tap to unmute" in html and "Vinyl hour" in html
    assert "data-show-panel" not in html


def test_a_show_going_on_air_and_off_shows_on_the_kept_stall_pages_next_read(
    client, media_server, stall, on_commit
):
    """A quiet stage is kept with the stall page's shared markup ({% kept %}), so the
    page shows a show that starts, and its end, on the next read."""
    page = reverse("stalls:detail", args=[stall.public_id])
    quiet = 'data-live-video aria-labelledby="show-title"'
    assert quiet in client.get(page).content.decode()
    show = go_live(stall, on_commit)
    html = client.get(page).content.decode()
    assert f'data-show="{show.public_id}"' in html and "Vinyl hour" in html
    on_commit(services.show_end, show=show, reason=Show.EndReason.ENDED)
    html = client.get(page).content.decode()
    assert f'data-show="{show.public_id}"' not in html and quiet in html


def test_a_stall_page_reads_its_show_once(client, media_server, stall, on_commit, monkeypatch):
    """The head's early grant and the stage show the one show, from one cache read."""
    from shows.templatetags import shows as show_tags

    show = go_live(stall, on_commit)
    reads = []

    def counted_on_air(**kwargs):
        reads.append(kwargs)
        return on_air(**kwargs)

    monkeypatch.setattr(show_tags, "on_air", counted_on_air)
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert reads == [{"stall_public_ids": [stall.public_id]}]
    assert 'id="show-grant"' in html and f'data-show="{show.public_id}"' in html


def _page_grant(html: str) -> dict | None:
    if 'id="show-grant"' not in html:
        return None
    return json.loads(
        html.split('id="show-grant" type="application/json">')[1].split("</script>")[0]
    )


def test_a_live_stall_page_brings_the_viewers_grant(
    client, media_server, stall, make_user, on_commit
):
    """The video connects as the page runs, without asking the token endpoint first."""
    go_live(stall, on_commit)
    media_server.calls.clear()
    viewer = make_user()
    client.force_login(viewer)
    page = reverse("stalls:detail", args=[stall.public_id])
    html = client.get(page, headers={"Sec-Fetch-Dest": "document"}).content.decode()
    grant = _page_grant(html)
    assert grant["role"] == "viewer" and grant["identity"] == viewer.public_id
    assert grant["room"] == media.room_name(stall.public_id)
    # Signed here, then subscribed ahead where the backend can (no token request).
    assert media_server.calls == [("viewer", grant["room"]), ("ahead", grant["room"])]
    # Not for what is not a browser's own navigation: a bot, a prefetch.
    for headers in ({}, {"Sec-Fetch-Dest": "document", "Sec-Purpose": "prefetch"}):
        media_server.calls.clear()
        client.get(page, headers=headers)
        assert media_server.calls == [("viewer", grant["room"])], headers
    # Its client comes in the page and starts connecting there, not after a fetch.
    assert "window.BazaarJanusViewer" in html and "data-janus-viewer" in html
    assert '<script src="/static/vendor/janus' not in html  # janus.js is the seller's alone


def test_a_viewers_first_paint_waits_for_the_player(
    client, media_server, stall, make_stall, on_commit
):
    """On a live stall the head holds the first paint until the player is parsed (one
    style and layout of the page, not a near-empty one first while the connection's
    answer waits for the same thread); not on an idle stall, nor for the seller."""
    idle_stall = make_stall("idle", slot=1)
    go_live(stall, on_commit)
    expect = '<link rel="expect" href="#show-player" blocking="render">'
    live = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    head = live.split("</head>")[0]
    assert expect in head.split('<link rel="stylesheet"')[0]
    assert 'id="show-player"' in live.split("</head>")[1]
    idle = client.get(reverse("stalls:detail", args=[idle_stall.public_id])).content.decode()
    assert expect not in idle
    client.force_login(stall.seller.user)
    own = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert expect not in own


# The show's own scripts, then the page's others: all after a live show's first frame.
LATER = [
    *("shows/common", "shows/janus-client", "shows/livekit-client", "shows/stage", "shows/seller"),
    *("offers", "stall-room.min", "lightbox", "auction", "show-tools"),
]


def _deferred(html: str) -> list[str]:
    return [name for name in LATER if f'/static/js/{name}.js" defer>' in html]


def _after_first_frame(html: str) -> list[str]:
    if 'id="show-later-scripts"' not in html:
        return []
    listed = json.loads(
        html.split('id="show-later-scripts" type="application/json">')[1].split("</script>")[0]
    )
    return [name for name in LATER if f"/static/js/{name}.js" in listed]


def test_a_viewers_page_runs_its_other_scripts_after_the_first_frame(
    client, media_server, stall, make_stall, on_commit
):
    """On a live stall the viewer's Janus client (in the head) loads them once the video
    shows; on an idle stall, and for the seller, they are deferred as ever."""
    idle_stall = make_stall("idle", slot=1)
    go_live(stall, on_commit)
    live = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert _after_first_frame(live) == LATER and _deferred(live) == []
    assert "show-later-scripts" in live.split("data-janus-viewer>")[1]  # the client reads it
    idle = client.get(reverse("stalls:detail", args=[idle_stall.public_id])).content.decode()
    assert _deferred(idle) == LATER and _after_first_frame(idle) == []
    client.force_login(stall.seller.user)
    own = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert _deferred(own) == LATER and _after_first_frame(own) == []


def test_a_visitor_gets_a_grant_of_their_own_and_an_idle_stall_none(
    client, media_server, stall, make_stall, on_commit
):
    other_stall = make_stall("idle", slot=1)
    go_live(stall, on_commit)
    grant = _page_grant(
        client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    )
    assert grant["identity"].startswith("visitor-") and grant["role"] == "viewer"
    idle = client.get(reverse("stalls:detail", args=[other_stall.public_id])).content.decode()
    assert _page_grant(idle) is None


def test_a_show_on_another_backend_gets_no_page_grant(client, media_server, stall, on_commit):
    """The backend changed since the show started: the page asks the endpoint, which says."""
    go_live(stall, on_commit)
    media_server.name = "livekit"
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert _page_grant(html) is None and 'data-show="' in html


def test_the_seller_gets_the_go_live_panel(client, media_server, stall):
    client.force_login(stall.seller.user)
    for url in [reverse("stalls:detail", args=[stall.public_id]), reverse("stalls:dashboard")]:
        html = client.get(url).content.decode()
        assert "data-show-panel" in html and "Go live" in html
        assert 'label for="show-camera"' in html and 'label for="show-microphone"' in html


def test_without_video_the_panel_says_how_to_enable_it(client, settings, stall):
    settings.SHOWS_MEDIA = ""
    client.force_login(stall.seller.user)
    html = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    assert HOW_TO_ENABLE.replace("'", "&#x27;") in html
    assert "data-show-open" not in html


def test_live_now_puts_streaming_stalls_first(client, media_server, make_stall, on_commit):
    make_stall("quiet", slot=1)
    streaming = make_stall("streamer", slot=2)
    go_live(streaming, on_commit, title="Records at noon")
    html = client.get(reverse("discovery:home")).content.decode()
    row = html.split('data-row="live"')[1].split("</ul>")[0]
    assert "Records at noon" in row and "LIVE" in row
