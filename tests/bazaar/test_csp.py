"""Content-Security-Policy: scripts from our origin or with the response's nonce only,
and the deployment's own origins added."""

import re

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>")


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", ["/", "/search/?q=lamp"])
def test_every_inline_script_carries_the_response_s_nonce(client, path):
    response = client.get(path)

    policy = directives(response)
    nonces = [source for source in policy["script-src"] if source.startswith("'nonce-")]
    assert len(nonces) == 1
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    inline = INLINE_SCRIPT.findall(response.content.decode())
    assert inline, "the page has its inline scripts"
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline)


def test_a_new_nonce_for_every_response(client):
    first, second = client.get("/"), client.get("/")

    assert directives(first)["script-src"] != directives(second)["script-src"]


def test_nothing_may_frame_the_market_or_run_plugins_or_move_the_base(client):
    policy = directives(client.get("/"))

    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["style-src"][0] == "'self'"
    assert policy["style-src"][1].startswith("'nonce-")


@override_settings(
    AWS_STORAGE_BUCKET_NAME="bazaar-photos",
    AWS_S3_ENDPOINT_URL=None,
    AWS_S3_REGION_NAME="eu-west-1",
    AWS_S3_CUSTOM_DOMAIN="photos.bazaar.example",
    LIVEKIT_URL="wss://live.bazaar.example",
    STRIPE_SECRET_KEY="sk_live_not-a-real-key",
)
def test_the_deployment_s_media_server_bucket_and_stripe_are_allowed(client):
    policy = directives(client.get("/"))

    assert "wss://live.bazaar.example" in policy["connect-src"]
    assert "https://bazaar-photos.s3.eu-west-1.amazonaws.com" in policy["connect-src"]
    assert "https://photos.bazaar.example" in policy["img-src"]
    assert "https://checkout.stripe.com" in policy["form-action"]
    assert "ws://testserver" in policy["connect-src"]


def test_without_stripe_forms_go_nowhere_but_here(client):
    assert directives(client.get("/"))["form-action"] == ["'self'"]


def test_only_the_admin_may_use_inline_styles(client, make_user):
    ops = make_user("ops")
    ops.is_staff = ops.is_superuser = True
    ops.save()
    client.force_login(ops)
    admin = directives(client.get("/admin/"))

    assert admin["style-src"] == ["'self'", "'unsafe-inline'"]
    assert "'unsafe-inline'" not in admin["script-src"]
    assert "'unsafe-inline'" not in directives(client.get("/"))["style-src"]


def test_an_inlined_stylesheet_is_allowed_by_its_hash_in_every_response(client, market):
    import base64
    import hashlib

    first, second = client.get("/market/0/0/"), client.get("/market/0/0/")

    (css,) = re.findall(r"<style>(.*?)</style>", first.content.decode(), re.S)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in directives(first)["style-src"]
    assert f"'sha256-{digest}'" in directives(second)["style-src"]
