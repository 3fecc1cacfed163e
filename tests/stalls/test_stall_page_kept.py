"""The stall page's shared markup is rendered once for everyone who sees the same
({% kept %} in stalls/detail.html): what the stall's row says shows on the next read,
and what is one viewer's (the seller's tools, their Follow button, a CSRF token that
works) is never another's. The parts that look the same to every shopper while
nothing happens (a quiet stage, a guest's Follow button, the room) are kept with the
rest, and show a change on the next read."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from stalls.models import Stall
from stalls.services import stall_update
from tests.conftest import new_item
from watchlist.services import stall_follow_set

pytestmark = pytest.mark.django_db

EDIT_LINK = "Edit in your dashboard"


def stall_page(client, stall) -> str:
    response = client.get(reverse("stalls:detail", args=[stall.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_sellers_page_and_a_shoppers_are_kept_apart(client, stall):
    new_item(stall, title="Lamp")
    as_seller = Client()
    as_seller.force_login(stall.seller.user)
    assert EDIT_LINK not in stall_page(client, stall)
    seller_page = stall_page(as_seller, stall)
    assert EDIT_LINK in seller_page and "Add to cart" not in seller_page
    shopper_page = stall_page(client, stall)
    assert EDIT_LINK not in shopper_page and "Add to cart" in shopper_page


def test_each_viewer_has_their_own_follow_button_and_report_links(client, stall, make_user):
    stall_page(client, stall)  # a guest's read keeps the shared markup
    shopper = Client()
    shopper.force_login(make_user("shopper"))
    html = stall_page(shopper, stall)
    assert "Report this stall" in html
    assert "Report this stall" not in stall_page(client, stall)


def rename(stall, name: str, description: str) -> None:
    stall_update(
        actor=stall.seller.user,
        stall=stall,
        name=name,
        description=description,
        section_x=0,
        section_y=0,
        slot=stall.slot,
    )


def test_a_renamed_stall_shows_on_the_next_read(client, stall):
    stall_page(client, stall)
    rename(stall, "Lamps and Clocks", "Only **clocks** now.")
    html = stall_page(client, stall)
    assert "<h1>Lamps and Clocks</h1>" in html and "<strong>clocks</strong>" in html


def test_a_stall_moved_by_a_steward_shows_its_new_place(client, stall):
    assert "slot 1 of section 0/0" in stall_page(client, stall)
    Stall.objects.filter(pk=stall.pk).update(slot=4)  # as stalls.moves does
    assert "slot 5 of section 0/0" in stall_page(client, stall)


def test_the_kept_cart_button_posts_with_each_viewers_own_token(stall):
    lamp = new_item(stall, title="Lamp", inventory=3)
    for _ in range(2):  # the second viewer reads the markup the first one kept
        viewer = Client(enforce_csrf_checks=True)
        html = stall_page(viewer, stall)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        response = viewer.post(
            reverse("orders:cart_add"),
            {"item": lamp.public_id, "quantity": 1, "csrfmiddlewaretoken": token},
        )
        assert response.status_code != 403


def test_a_warm_stall_page_reads_its_apps_kept_values_in_one_cache_read(
    client, stall, cache_reads_counted
):
    """The cards, the show, the stage's flash auction and giveaway, the Follow count and
    the rating, the stall's scopes: read ahead together (bazaar.cache.read_ahead), one
    round trip, not six, and the kept markup held by the process for those versions."""

    new_item(stall, title="Lamp")
    stall_page(client, stall)  # warm: the scopes' first versions
    stall_page(client, stall)  # the markup kept for them, held
    reads = cache_reads_counted()
    page = stall_page(client, stall)
    assert "Lamp" in page and 'class="item-card"' in page
    assert len(reads) == 1  # the read ahead; the markup held for the versions it read
    wanted = ("stall-items", "stage", "on-air", "stall-follows", "stall-rating")
    assert all(any(part in key for key in reads[0]) for part in wanted)


def test_a_guests_follow_count_shows_a_new_follower_on_the_next_read(
    client, stall, make_user, on_commit
):
    assert "follower" not in stall_page(client, stall)
    on_commit(stall_follow_set, user=make_user("fan"), stall=stall, following=True)
    assert "1 follower" in stall_page(client, stall)


def test_a_signed_in_viewers_follow_shows_on_their_next_read(stall, make_user, on_commit):
    fan = make_user("fan")
    viewer = Client()
    viewer.force_login(fan)
    assert 'aria-pressed="false"' in stall_page(viewer, stall)
    on_commit(stall_follow_set, user=fan, stall=stall, following=True)
    html = stall_page(viewer, stall)
    assert 'aria-pressed="true"' in html and "Following" in html


def test_guests_and_signed_in_shoppers_each_see_their_own_room(client, stall, make_user):
    assert "Log in to chat" in stall_page(client, stall)  # the guests' markup, kept
    shopper = Client()
    shopper.force_login(make_user("shopper"))
    html = stall_page(shopper, stall)
    assert "data-composer" in html and "Log in to chat" not in html
    guest_again = stall_page(client, stall)
    assert "Log in to chat" in guest_again and "data-composer" not in guest_again
    assert "Report this stall" not in guest_again


def test_a_page_asked_with_a_query_string_logs_in_back_to_it(client, stall):
    stall_page(client, stall)  # the guests' markup kept, with its links back
    path = reverse("stalls:detail", args=[stall.public_id])
    html = client.get(path + "?from=grid").content.decode()
    assert "next=" + path + "%3Ffrom%3Dgrid" in html
    assert "%3Ffrom%3Dgrid" not in stall_page(client, stall)


def test_a_signed_in_viewers_own_values_are_read_ahead_with_the_page(
    stall, make_user, cache_reads_counted
):
    """The top bar's kept values and the viewer's own follows join the page's read
    ahead (`bazaar.cache.VIEWER`): the same one read as a guest's page, not four."""

    from discovery.context_processors import top_bar_keys
    from watchlist.selectors import viewer_own_keys

    shopper = make_user("shopper")
    viewer = Client()
    viewer.force_login(shopper)
    stall_page(viewer, stall)  # warm
    stall_page(viewer, stall)
    reads = cache_reads_counted()
    assert 'aria-pressed="false"' in stall_page(viewer, stall)
    assert len(reads) == 1
    assert set(top_bar_keys(shopper)) | set(viewer_own_keys(shopper)) <= set(reads[0])


def test_the_heads_text_for_a_shared_link_follows_the_stall_and_the_address(client, stall):
    path = reverse("stalls:detail", args=[stall.public_id])
    stall_page(client, stall)  # remembered for this state of the stall
    rename(stall, "Clock Corner", "Only clocks now.")
    html = client.get(path + "?from=share").content.decode()
    assert '<meta name="description" content="Only clocks now.">' in html
    assert '<meta property="og:title" content="Clock Corner">' in html
    assert f'<meta property="og:url" content="http://testserver{path}?from=share">' in html


def test_a_signed_in_viewers_follow_button_and_report_links_are_kept_per_follow_state(
    stall, make_user, on_commit, monkeypatch
):
    """Signed in, the Follow button and the report links are kept with the rest: the
    viewer's Follow state is in the key, the count's change marks the stall. Each viewer
    sees their own state and posts with their own token; a follow shows on the next read."""
    from watchlist.templatetags import watchlist as tags

    follower, other = make_user("follower"), make_user("other")
    on_commit(stall_follow_set, user=follower, stall=stall, following=True)
    viewers = {}
    for user in (follower, other):
        viewers[user] = Client(enforce_csrf_checks=True)
        viewers[user].force_login(user)
        stall_page(viewers[user], stall)  # each state's markup kept
    buttons = []
    stall_button = tags.stall_button
    monkeypatch.setattr(tags, "stall_button", lambda **kw: buttons.append(kw) or stall_button(**kw))
    following, not_following = (
        stall_page(viewers[follower], stall),
        stall_page(viewers[other], stall),
    )
    assert buttons == []  # no hole: both read from kept markup
    assert 'aria-pressed="true"' in following and 'aria-pressed="false"' in not_following
    assert "1 follower" in following and "1 follower" in not_following
    assert "Report this stall" in following and "Report this stall" in not_following
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', not_following).group(1)
    response = viewers[other].post(
        reverse("watchlist:stall_follow", args=[stall.public_id]),
        {"on": "1", "next": "/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    on_commit(stall_follow_set, user=make_user("third"), stall=stall, following=True)
    assert "3 followers" in stall_page(viewers[follower], stall)
    html = stall_page(viewers[other], stall)
    assert 'aria-pressed="true"' in html and "3 followers" in html


def test_a_stall_without_reviews_keeps_its_reviews_section_for_everyone(
    client, stall, make_user, monkeypatch
):
    """No review shown: the section is the same for every viewer, kept with the rest
    (the first review marks the stall: tests/reviews/test_views.py shows it next read)."""
    from reviews.templatetags import reviews as tags

    shopper = Client()
    shopper.force_login(make_user("shopper"))
    for viewer in (client, shopper):
        stall_page(viewer, stall)  # warm
    latest = []
    reviews_latest = tags.reviews_latest_for_stall
    monkeypatch.setattr(
        tags, "reviews_latest_for_stall", lambda **kw: latest.append(kw) or reviews_latest(**kw)
    )
    for viewer in (client, shopper):
        assert "No reviews yet" in stall_page(viewer, stall)
    assert latest == []
