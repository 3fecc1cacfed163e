"""How pages and files reach the browser: compressed, cached where they never change,
a favicon, a description on every page."""

import gzip

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from tests.conftest import new_photo

PAGES = [
    "/",
    "/market/0/0/",
    "/accounts/login/",
    "/cart/",
    "/search/?q=lamp",
    "/categories/books/",
    "/auctions/",
]


def test_the_favicon_is_served_and_cached(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=86400" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_description_and_an_icon(client, market, path):
    html = client.get(path).content.decode()
    assert html.count('<meta name="description" content="') == 1
    assert 'rel="icon" href="/favicon.ico"' in html


@pytest.mark.django_db
def test_a_stall_describes_itself(client, stall):
    html = client.get(f"/stalls/{stall.public_id}/").content.decode()
    assert html.count('<meta name="description"') == 1
    assert '<meta name="description" content="Fine things.">' in html  # Markdown as text


@pytest.mark.django_db
def test_pages_are_compressed_for_browsers_that_accept_it(client, market):
    response = client.get("/market/0/0/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert b"<h1>Section" in gzip.decompress(response.content)
    assert "Content-Encoding" not in client.get("/market/0/0/")


@pytest.mark.django_db
def test_uploaded_photos_are_cached_for_a_year(client, stall):
    photo = new_photo(stall)
    response = client.get(photo.image.url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    # A new upload is a new name: the old one never changes under the cache.
    assert new_photo(stall).image.name != photo.image.name


@pytest.fixture
def collected(tmp_path):
    """The static files collected as production collects and serves them."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "bazaar.static_storage.RememberedURLStaticFilesStorage"},
    }
    with override_settings(
        STATIC_ROOT=tmp_path, STORAGES=storages, WHITENOISE_USE_FINDERS=False, DEBUG=False
    ):
        call_command("collectstatic", "--noinput", "-v0")
        yield


def test_collected_static_files_are_served_precompressed_and_hashed(collected):
    """What production serves: WhiteNoise's compressed, hashed copies from collectstatic."""
    from django.templatetags.static import static

    url = static("css/bazaar.css")
    assert url != "/static/css/bazaar.css"  # hashed: cached for ever
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]
    body = gzip.decompress(b"".join(response.streaming_content))
    assert b"--accent" in body


def test_a_static_url_is_looked_up_once_and_follows_debug(collected):
    """The production storage remembers each name's URL, as the manifest answers it."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.templatetags.static import static

    hashed = static("css/bazaar.css")
    assert hashed.startswith("/static/css/bazaar.") and hashed != "/static/css/bazaar.css"
    staticfiles_storage.hashed_files.clear()  # the manifest is not asked again
    assert static("css/bazaar.css") == hashed
    with override_settings(DEBUG=True):
        assert static("css/bazaar.css") == "/static/css/bazaar.css"
    assert static("css/bazaar.css") == hashed
    with pytest.raises(ValueError):  # a name the manifest lacks is refused each time
        static("css/missing.css")
    with pytest.raises(ValueError):
        static("css/missing.css")


@pytest.mark.django_db
def test_a_stall_page_blocks_its_first_paint_on_one_stylesheet(client, stall):
    html = client.get(f"/stalls/{stall.public_id}/").content.decode()
    assert html.count('rel="stylesheet"') == 1  # bazaar.css, cached across pages
    assert ".chat-log" in html and ".offer-ladder" in html  # room.css, offers.css inline


@pytest.mark.django_db
def test_notices_are_inside_the_main_landmark(client, market, make_user):
    """Screen readers skip what lies outside every landmark (axe's "region" rule)."""
    client.force_login(make_user("fresh", verified=False))
    html = client.get("/market/0/0/").content.decode()
    main = html[html.index("<main>") : html.index("</main>")]
    assert "Check your inbox to verify" in main
