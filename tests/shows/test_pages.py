"""The show on other apps' pages: the grid card's badge, the stall page's stage or
panel, the front page's Live now row, and the cache copy they read."""

import pytest
from django.urls import reverse

from shows import services
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
