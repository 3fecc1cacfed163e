"""Permissions-Policy on every response; no-store on everything a signed-in person gets."""

import pytest
from django.conf import settings
from django.urls import reverse

from bazaar.headers import PERMISSIONS_POLICY

SIGNED_IN_PAGES = [
    "orders:cart",
    "orders:checkout",
    "orders:list",
    "orders:account",
    "offers:mine",
    "auctions:mine",
    "stalls:dashboard",
    "accounts:verify_resend",
    "notifications:list",
    "notifications:settings",
    "discovery:home",  # a public page, but rendered for this person (their handle, cart)
]


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


@pytest.fixture
def seller_client(client, stall):
    client.force_login(stall.seller.user)
    return client


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_pages_are_private_and_never_stored(seller_client, name):
    response = seller_client.get(reverse(name))
    assert response.status_code in (200, 302)
    assert no_store(response), response.get("Cache-Control")
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


def test_a_signed_in_refusal_is_not_stored_either(seller_client):
    response = seller_client.get("/no-such-page/")
    assert response.status_code == 404
    assert no_store(response)


def test_pages_for_a_visitor_may_be_kept(client, market):
    response = client.get(reverse("discovery:home"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


def test_what_declares_itself_public_stays_public_when_signed_in(seller_client):
    photo = settings.MEDIA_ROOT / "headers-test.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8\xff\xd9")
    try:
        media = seller_client.get(f"{settings.MEDIA_URL}headers-test.jpg")
    finally:
        photo.unlink()
    favicon = seller_client.get("/favicon.ico")
    assert media["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "public" in favicon["Cache-Control"] and "no-store" not in favicon["Cache-Control"]
    assert media["Permissions-Policy"] == favicon["Permissions-Policy"] == PERMISSIONS_POLICY


def test_static_files_get_the_policy_and_their_own_caching(seller_client):
    response = seller_client.get("/static/css/bazaar.css")
    assert response.status_code == 200
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY
    assert "no-store" not in response.get("Cache-Control", "")


def test_json_answers_are_attachments_and_pages_are_not(client, stall):
    data = client.get(reverse("stalls:chat_history", args=[stall.public_id]))
    assert data["Content-Type"] == "application/json"
    assert data["Content-Disposition"] == 'attachment; filename="data.json"'
    refused = client.get(reverse("stalls:chat_history", args=[stall.public_id]), {"before": "x"})
    assert refused.status_code == 400 and refused["Content-Disposition"].startswith("attachment")
    page = client.get(reverse("stalls:detail", args=[stall.public_id]))
    assert "Content-Disposition" not in page
