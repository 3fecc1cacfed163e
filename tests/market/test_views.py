import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import Event, Kind
from analytics.recording import events_flush
from market.models import Section
from stalls.room.presence import seller_presence_beat
from stalls.room.visitors import Visitor, room_join, room_pulse


def section_url(x, y):
    return reverse("market:section", args=[x, y])


@pytest.mark.django_db
def test_market_root_redirects_to_origin(client, market):
    response = client.get("/market/")
    assert response.status_code == 302
    assert response["Location"] == "/market/0/0/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/market/abc/0/", "/market/1.5/2/", "/market/0/x/", "/market/99/99/", "/market/-1/0/"]
)
def test_bad_or_outside_coordinates_fall_back_to_origin(client, market, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/market/0/0/"


@pytest.mark.django_db
def test_negative_coordinates_inside_the_market_render(client, market):
    from market.services import sections_ensure

    sections_ensure(coordinates=[(-1, 0)])
    response = client.get("/market/-1/0/")
    assert response.status_code == 200
    assert b"Section <span" in response.content


@pytest.mark.django_db
def test_empty_market_explains_itself_instead_of_looping(client):
    response = client.get("/market/0/0/")
    assert response.status_code == 404
    assert b"seed_market" in response.content


@pytest.mark.django_db
def test_section_shows_its_stalls_and_links_to_existing_neighbours_only(
    client, make_stall, make_item
):
    stall = make_stall("potter", x=0, y=0, slot=4, name="Potter's Wheel")
    make_item(stall, title="Teapot")
    response = client.get(section_url(0, 0))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Potter&#x27;s Wheel" in html
    assert "1 item<" in html and "from <b>$25</b>" in html
    assert f'href="/stalls/{stall.public_id}/"' in html
    # 0/0 is the top-left corner of the 3x3 test market: east and south only.
    assert 'data-direction="right" href="/market/1/0/"' in html
    assert 'data-direction="down" href="/market/0/1/"' in html
    assert 'data-direction="up"' not in html
    assert 'data-direction="left"' not in html
    assert html.count("Free pitch") == 8


@pytest.mark.django_db
def test_htmx_move_returns_the_section_alone_and_pushes_its_url(client, market):
    response = client.get(section_url(1, 1), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/market/1/1/"
    assert html.lstrip().startswith('<div id="market-section"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_history_restore_gets_the_full_page(client, market):
    response = client.get(
        section_url(1, 1),
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert b"<html" in response.content


def _grid_views() -> list[Event]:
    events_flush()
    return list(Event.objects.filter(kind=Kind.GRID_VIEWED).order_by("pk"))


@pytest.mark.django_db
def test_each_view_records_a_grid_viewed_event_for_the_visitor(
    client, market, make_user, django_capture_on_commit_callbacks
):
    section = Section.objects.get(x=1, y=2)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(section_url(1, 2))
        client.get(section_url(1, 2))
    anonymous = _grid_views()
    assert [event.section_id for event in anonymous] == [section.pk, section.pk]
    assert len({event.visitor for event in anonymous}) == 1

    user = make_user("walker")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(section_url(2, 2))
    assert _grid_views()[-1].visitor == user.public_id


@pytest.mark.django_db
def test_visitor_id_is_a_signed_cookie_not_the_session_key(
    client, market, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(section_url(0, 0))
    cookie = response.cookies["bazaar_visitor"]
    assert cookie["httponly"]
    [event] = _grid_views()
    assert event.visitor in cookie.value  # signed: value:signature
    assert cookie.value != event.visitor
    # A forged cookie is ignored and replaced with a fresh id.
    client.cookies["bazaar_visitor"] = "forged"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(section_url(0, 0))
    assert _grid_views()[-1].visitor != "forged"


@pytest.mark.django_db
def test_minimap_counts_the_people_in_each_section_now(market, make_user):
    for handle in ["walker1", "walker2"]:
        walker = Client()
        walker.force_login(make_user(handle))
        walker.get(section_url(1, 0))
        walker.get(section_url(1, 0))
    viewer = Client()
    response = viewer.get(section_url(0, 0))
    squares = {(sq["x"], sq["y"]): sq for sq in response.context["minimap"]["squares"]}
    assert len(squares) == 49
    assert squares[(1, 0)]["visitors"] == 2
    assert squares[(0, 0)]["visitors"] == 1  # the viewer counts themself
    assert squares[(-1, 0)]["exists"] is False
    assert squares[(2, 2)]["exists"] is True
    assert squares[(3, 3)]["exists"] is False


@pytest.mark.django_db
def test_a_walker_counts_only_where_they_are_now(client, market):
    client.get(section_url(1, 0))
    client.get(section_url(2, 0))
    squares = client.get(section_url(2, 1)).context["minimap"]["squares"]
    counts = {(sq["x"], sq["y"]): sq["visitors"] for sq in squares if sq["visitors"]}
    assert counts == {(2, 1): 1}


@pytest.mark.django_db
def test_the_minimap_counts_stall_rooms_by_their_own_presence(client, make_stall, make_user):
    """One "who is here" for rooms and heat-map: a room's sockets count in its section,
    and a signed-in walker entering a room stops counting on the grid."""
    stall = make_stall("roomy", x=1, y=1)
    room_pulse(stall=stall, beats={}, left=[], guests=("guest-1", "guest-2"))
    walker = Client()
    user = make_user("walker")
    walker.force_login(user)
    walker.get(section_url(2, 2))
    room_join(stall=stall, conn="tab", visitor=Visitor(user_id=user.public_id, handle="walker"))
    room_pulse(stall=stall, beats={}, left=[])
    squares = client.get(section_url(0, 0)).context["minimap"]["squares"]
    counts = {(sq["x"], sq["y"]): sq["visitors"] for sq in squares if sq["visitors"]}
    assert counts == {(0, 0): 1, (1, 1): 3}
    room_pulse(stall=stall, beats={}, left=["guest-1", "guest-2", "tab"])
    squares = client.get(section_url(0, 0)).context["minimap"]["squares"]
    assert {(sq["x"], sq["y"]) for sq in squares if sq["visitors"]} == {(0, 0)}


@pytest.mark.django_db
def test_minimap_forgets_people_after_the_crowd_span(client, market, settings):
    settings.CROWD_SECONDS = 0.05
    Client().get(section_url(1, 1))
    time.sleep(0.1)
    squares = client.get(section_url(0, 0)).context["minimap"]["squares"]
    square = next(sq for sq in squares if (sq["x"], sq["y"]) == (1, 1))
    assert square["visitors"] == 0


@pytest.mark.django_db
def test_live_dot_follows_seller_presence(client, make_stall):
    stall = make_stall("present", slot=2)
    assert b"is-live" not in client.get(section_url(0, 0)).content
    seller_presence_beat(stall_public_id=stall.public_id)
    assert b"live-dot is-live" in client.get(section_url(0, 0)).content


def _fill_section(make_stall, make_item, make_photo, count):
    for slot in range(count):
        stall = make_stall(f"busy{slot}", slot=slot)
        for number in range(3):
            make_photo(stall, make_item(stall, title=f"Thing {number}"))


@pytest.mark.django_db
@pytest.mark.parametrize("stalls_in_section", [0, 9])
def test_section_page_makes_at_most_five_queries_whatever_it_holds(
    client, make_stall, make_item, make_photo, make_user, stalls_in_section
):
    _fill_section(make_stall, make_item, make_photo, stalls_in_section)
    cache.clear()
    with CaptureQueriesContext(connection) as cold:
        assert client.get(section_url(0, 0)).status_code == 200
    client.force_login(make_user("counted"))
    client.get(section_url(0, 0))
    with CaptureQueriesContext(connection) as warm_signed_in:
        assert client.get(section_url(0, 0)).status_code == 200
    assert len(cold) <= 5, [q["sql"] for q in cold]
    assert len(warm_signed_in) <= 5, [q["sql"] for q in warm_signed_in]


@pytest.mark.django_db
def test_section_cards_are_cached_and_refreshed_when_a_stall_changes(
    client, make_stall, make_item, django_capture_on_commit_callbacks
):
    stall = make_stall("renamer", slot=0, name="Old Name")
    client.get(section_url(0, 0))
    with django_capture_on_commit_callbacks(execute=True):
        from stalls.services import stall_update

        stall_update(
            actor=stall.seller.user,
            stall=stall,
            name="New Name",
            description="",
            section_x=0,
            section_y=0,
            slot=0,
        )
    assert b"New Name" in client.get(section_url(0, 0)).content
