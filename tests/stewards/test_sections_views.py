"""/admin/sections/: the map, the keyboard path and what a refusal shows."""

import pytest
from django.urls import reverse

from stalls.models import Stall


@pytest.fixture
def lamps(make_stall):
    return make_stall("lamps", name="Brass & Lamps", slot=2)


@pytest.mark.django_db
def test_the_map_shows_every_section_and_its_stalls(client, steward, lamps):
    client.force_login(steward)
    page = client.get(reverse("stewards:sections")).content.decode()
    assert page.count('class="map-section"') == 9
    assert "Brass &amp; Lamps" in page and "@lamps" in page
    assert page.count("map-slot is-free") == 8 * 9 + 8
    assert f"?move={lamps.public_id}" in page


@pytest.mark.django_db
def test_choosing_move_offers_every_slot_as_a_target(client, steward, lamps, make_stall):
    make_stall("books", name="Books", slot=5)
    client.force_login(steward)
    page = client.get(reverse("stewards:sections") + f"?move={lamps.public_id}").content.decode()
    assert "Moving <strong>“Brass &amp; Lamps”</strong>" in page
    assert page.count(">Move here</button>") == 9 * 9 - 2
    assert "Swap with “Books”" in page
    assert "Moving this one" in page


@pytest.mark.django_db
def test_a_keyboard_move_redirects_with_what_happened(client, steward, lamps):
    client.force_login(steward)
    response = client.post(
        reverse("stewards:stall_move"),
        {"stall": lamps.public_id, "origin": "0,0,2", "target": "1,2,7,", "reason": "Tidy"},
        follow=True,
    )
    assert response.redirect_chain[-1][0].endswith("/admin/sections/#section-1-2")
    assert "Moved “Brass &amp; Lamps” from section 0/0, slot 3 to section 1/2, slot 8" in (
        response.content.decode()
    )
    assert Stall.objects.get(pk=lamps.pk).slot == 7


@pytest.mark.django_db
def test_a_missing_reason_is_said_beside_the_field_and_keeps_the_choice(client, steward, lamps):
    client.force_login(steward)
    response = client.post(
        reverse("stewards:stall_move"),
        {"stall": lamps.public_id, "origin": "0,0,2", "target": "1,2,7,", "reason": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Say why you are moving the stall." in page
    assert 'aria-invalid="true"' in page
    assert "Moving <strong>" in page
    assert Stall.objects.get(pk=lamps.pk).slot == 2


@pytest.mark.django_db
def test_a_stale_map_gets_409_and_a_fresh_map(client, steward, lamps, make_stall):
    make_stall("books", name="Books", x=1, y=2, slot=7)
    client.force_login(steward)
    response = client.post(
        reverse("stewards:stall_move"),
        {"stall": lamps.public_id, "origin": "0,0,2", "target": "1,2,7,", "reason": "Tidy"},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "A stall just took section 1/2, slot 8; the map is refreshed." in page
    assert "Books" in page


@pytest.mark.django_db
def test_garbled_places_are_refused_in_place(client, steward, lamps):
    client.force_login(steward)
    response = client.post(
        reverse("stewards:stall_move"),
        {"stall": lamps.public_id, "origin": "0,0,2", "target": "here", "reason": "Tidy"},
    )
    assert response.status_code == 400
    assert "Choose the slot to move it to on the map." in response.content.decode()
