"""Errors an htmx request can meet are answered so that they show in place (issue 13,
point 1): a fragment, never a whole page swapped into a panel."""

import pytest
from django.test import Client, override_settings
from django.urls import path, reverse

from bazaar.ids import new_ulid

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_signed_out_htmx_requests_take_the_whole_page_to_the_login(client):
    """Signed out since the page loaded: the login page is not swapped into the panel;
    the browser goes there, and comes back to the page it was on."""
    response = client.get(
        reverse("offers:dashboard"),
        HTTP_HX_CURRENT_URL="http://testserver/dashboard/stall/",
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/dashboard/stall/"
    assert response.content == b""
    plain = client.get(reverse("offers:dashboard"))
    assert (
        plain.status_code == 302 and plain.url == "/accounts/login/?next=/dashboard/stall/offers/"
    )


def test_a_domain_error_is_a_fragment_for_htmx_and_a_page_otherwise(client):
    url = reverse("offers:item_panel", args=[new_ulid()])
    fragment = client.get(url, **HTMX)
    assert fragment.status_code == 404
    assert fragment.content.decode().startswith('<p class="error-message" role="alert">')
    page = client.get(url)
    assert page.status_code == 404 and b"<html" in page.content


def test_an_outdated_csrf_token_says_reload_in_place(make_user):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("alice"))
    response = strict.post(reverse("orders:cart_add"), {"item": new_ulid()}, **HTMX)
    assert response.status_code == 409
    assert b"This page is out of date: reload it and try again." in response.content
    assert b"<html" not in response.content


def _broken(request):
    raise RuntimeError("secret detail: SELECT * FROM accounts_user")


urlpatterns = [path("broken/", _broken)]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_an_unexpected_error_is_a_generic_page_with_its_request_id():
    """OWASP ASVS 7.4.1: no traceback, exception or setting leaves the server; the
    request id in the header is what a person quotes and what the logs carry."""
    response = Client(raise_request_exception=False).get("/broken/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Server Error (500)" in page
    assert "Traceback" not in page and "secret detail" not in page and "SELECT" not in page
    assert response["X-Request-ID"]
