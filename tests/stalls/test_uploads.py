"""Direct-to-S3 photo uploads against moto's S3 server, running in this process.

presign → the browser POSTs to the bucket's holding prefix → confirm → the task
checks the object and publishes a Photo through default storage (S3 here), or
refuses it. Nothing under the holding prefix is ever referenced by a Photo.
"""

import base64
import io
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from django.urls import include, path
from moto.server import ThreadedMotoServer
from PIL import Image

from accounts.services import user_create
from market.services import sections_ensure
from stalls import tasks, uploads
from stalls.models import Photo, PhotoUpload
from stalls.services import item_create, seller_register, stall_create

# The upload endpoints, whether or not stalls/urls.py includes them yet: the first
# match wins, so once it does these extra patterns are never reached.
urlpatterns = [path("", include("bazaar.urls")), path("", include("stalls.upload_urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

PRESIGN_URL = "/dashboard/stall/photos/presign/"
CONFIRM_URL = "/dashboard/stall/photos/confirm/"
HOLDING = "holding/"


# Fixtures


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_endpoint, settings, monkeypatch):
    """A fresh bucket, with default storage switched to S3Storage on it.

    Changing STORAGES through the `settings` fixture sends setting_changed, which
    makes Django drop its cached storages (django.test.signals.storages_changed).
    """
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    name = f"bazaar-test-{uuid.uuid4().hex[:12]}"
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_CUSTOM_DOMAIN = None
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)

    def keys(prefix: str = "") -> list[str]:
        listing = client.list_objects_v2(Bucket=name, Prefix=prefix)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    return SimpleNamespace(name=name, client=client, keys=keys, endpoint=moto_endpoint)


@pytest.fixture
def potter(db):
    """A seller with a stall and one item."""
    sections_ensure(coordinates=[(0, 0)])
    user = user_create(
        handle="potter", email="potter@example.com", password="pots-and-pans-9", verified=True
    )
    seller_register(user=user, legal_name="Pat Potter", country="US")
    stall = stall_create(
        user=user, name="Pat's pots", description="Jugs.", section_x=0, section_y=0, slot=0
    )
    item = item_create(
        actor=user,
        stall=stall,
        title="Blue jug",
        description="",
        price_cents=1800,
        currency="USD",
        inventory=1,
    )
    return SimpleNamespace(user=user, stall=stall, item=item)


@pytest.fixture
def stranger(db):
    return user_create(
        handle="stranger", email="stranger@example.com", password="not-the-potter-7", verified=True
    )


@pytest.fixture
def seller_client(client, potter):
    client.force_login(potter.user)
    return client


def _jpeg(size=(900, 600), color=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _presign(client, item=None) -> dict:
    body = {"item": item.public_id} if item else {}
    response = client.post(PRESIGN_URL, body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _post_to_bucket(post: dict, data: bytes, content_type: str = "image/jpeg"):
    """What the browser does: the signed fields, Content-Type, then the file."""
    fields = {**post["fields"], "Content-Type": content_type}
    return requests.post(
        post["url"], data=fields, files={"file": ("photo.jpg", data, content_type)}, timeout=10
    )


def _confirm(client, upload_id: str, capture):
    with capture(execute=True):
        response = client.post(
            CONFIRM_URL, {"upload_id": upload_id}, content_type="application/json"
        )
    return response


# Presign


def test_presign_returns_a_post_that_uploads_to_the_holding_prefix(bucket, potter, seller_client):
    post = _presign(seller_client, item=potter.item)

    key = post["fields"]["key"]
    assert key.startswith(f"{HOLDING}{potter.stall.public_id}/")
    upload = PhotoUpload.objects.get(public_id=post["upload_id"])
    assert (upload.key, upload.status, upload.item, upload.stall) == (
        key,
        PhotoUpload.Status.WAITING,
        potter.item,
        potter.stall,
    )
    assert post["url"].startswith(bucket.endpoint)
    assert post["confirm_url"] == CONFIRM_URL
    assert post["status_url"] == f"/dashboard/stall/photos/uploads/{upload.public_id}/"

    response = _post_to_bucket(post, _jpeg())

    assert response.status_code == 204, response.text
    assert bucket.keys() == [key]
    head = bucket.client.head_object(Bucket=bucket.name, Key=key)
    assert head["ContentType"] == "image/jpeg"


def test_presigned_policy_limits_size_type_and_time(bucket, potter, seller_client):
    post = _presign(seller_client)

    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    assert ["content-length-range", 1, 5 * 1024 * 1024] in policy["conditions"]
    assert ["starts-with", "$Content-Type", "image/"] in policy["conditions"]
    assert {"key": post["fields"]["key"]} in policy["conditions"]
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    upload = PhotoUpload.objects.get(public_id=post["upload_id"])
    assert upload.item is None  # a stall photo


def test_a_stranger_gets_403_presigning_for_someone_elses_item(bucket, potter, stranger, client):
    client.force_login(stranger)

    response = client.post(
        PRESIGN_URL, {"item": potter.item.public_id}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json() == {"error": "Only this stall's seller or a steward can change it."}
    assert not PhotoUpload.objects.exists()


def test_presign_without_a_stall_is_404(bucket, stranger, client):
    client.force_login(stranger)

    response = client.post(PRESIGN_URL, {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {"error": "Open your stall before adding photos."}


def test_presign_for_an_unknown_item_is_404(bucket, seller_client):
    response = seller_client.post(
        PRESIGN_URL, {"item": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json() == {"error": "No item has that address."}


def test_signed_out_callers_get_401(bucket, potter, client):
    response = client.post(PRESIGN_URL, {}, content_type="application/json")
    assert response.status_code == 401
    assert "error" in response.json()
    assert not PhotoUpload.objects.exists()


def test_bad_json_is_400(bucket, seller_client):
    response = seller_client.post(PRESIGN_URL, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "The request body is not valid JSON."}


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_a_body_neither_json_nor_a_form_is_415_and_nothing_is_made(
    bucket, seller_client, content_type
):
    response = seller_client.generic(
        "POST", PRESIGN_URL, b'{"item": ""}', content_type=content_type
    )
    assert response.status_code == 415
    assert response.json() == {
        "error": "Send the request as JSON (Content-Type: application/json)."
    }
    assert not PhotoUpload.objects.exists()


def test_presign_is_refused_when_direct_uploads_are_off(potter, seller_client, settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""

    response = seller_client.post(PRESIGN_URL, {}, content_type="application/json")

    assert response.status_code == 400
    assert not PhotoUpload.objects.exists()


# Confirm → task → published


def test_confirm_publishes_a_checked_photo_outside_the_holding_prefix(
    bucket, potter, seller_client, django_capture_on_commit_callbacks
):
    post = _presign(seller_client, item=potter.item)
    assert _post_to_bucket(post, _jpeg(size=(2400, 1600))).status_code == 204

    response = _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert response.json()["status"] == "waiting"  # the task runs after commit
    upload = PhotoUpload.objects.select_related("photo").get(public_id=post["upload_id"])
    assert upload.status == PhotoUpload.Status.PUBLISHED
    assert upload.error == ""
    photo = upload.photo
    assert photo is not None
    assert (photo.stall, photo.item) == (potter.stall, potter.item)
    assert photo.image.name.startswith("photos/")
    assert photo.thumbnail.name.startswith("thumbs/")
    assert (photo.width, photo.height) == (1200, 800)
    # The published files are in the bucket, the holding object is gone.
    assert bucket.keys(HOLDING) == []
    assert bucket.keys() == sorted([photo.image.name, photo.thumbnail.name])
    stored = bucket.client.get_object(Bucket=bucket.name, Key=photo.image.name)["Body"].read()
    assert Image.open(io.BytesIO(stored)).size == (1200, 800)
    assert bucket.endpoint in photo.image.url
    assert HOLDING not in photo.image.url

    status = seller_client.get(post["status_url"])
    assert status.status_code == 200
    assert status.json() == {
        "upload_id": upload.public_id,
        "status": "published",
        "thumbnail_url": photo.thumbnail.url,
    }


def test_no_photo_ever_points_into_the_holding_prefix(
    bucket, potter, seller_client, django_capture_on_commit_callbacks
):
    for _ in range(2):
        post = _presign(seller_client)
        _post_to_bucket(post, _jpeg())
        _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)

    assert Photo.objects.count() == 2
    for photo in Photo.objects.all():
        assert not photo.image.name.startswith(HOLDING)
        assert not photo.thumbnail.name.startswith(HOLDING)


def test_a_non_image_is_refused_with_a_message_and_no_photo(
    bucket, potter, seller_client, django_capture_on_commit_callbacks
):
    post = _presign(seller_client, item=potter.item)
    # Claims to be an image (the policy allows it); the bytes say otherwise.
    assert _post_to_bucket(post, b"#!/bin/sh\necho gotcha\n" * 20).status_code == 204

    _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)

    upload = PhotoUpload.objects.get(public_id=post["upload_id"])
    assert upload.status == PhotoUpload.Status.REFUSED
    assert upload.error == "That file is not a readable JPEG, PNG or WebP image."
    assert upload.photo is None
    assert not Photo.objects.exists()
    assert bucket.keys() == []
    status = seller_client.get(post["status_url"]).json()
    assert status == {
        "upload_id": upload.public_id,
        "status": "refused",
        "error": "That file is not a readable JPEG, PNG or WebP image.",
    }


def test_an_object_over_the_limit_is_refused_even_if_s3_let_it_in(bucket, potter, settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 1024
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    upload = PhotoUpload.objects.get(public_id=post["upload_id"])

    upload = uploads.upload_process(upload_id=upload.pk)

    assert upload.status == PhotoUpload.Status.REFUSED
    assert "over" in upload.error
    assert bucket.keys() == []


def test_confirming_before_the_file_arrived_refuses_it(
    bucket, potter, seller_client, django_capture_on_commit_callbacks
):
    post = _presign(seller_client)

    _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)

    upload = PhotoUpload.objects.get(public_id=post["upload_id"])
    assert upload.status == PhotoUpload.Status.REFUSED
    assert upload.error == "We did not receive the file; try again."


def test_a_full_item_refuses_the_upload_and_cleans_up(bucket, potter, settings):
    settings.PHOTOS_PER_ITEM = 0
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=potter.item)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())

    upload = uploads.upload_process(
        upload_id=PhotoUpload.objects.get(public_id=post["upload_id"]).pk
    )

    assert upload.status == PhotoUpload.Status.REFUSED
    assert upload.error == "At most 0 photos; delete one first."
    assert not Photo.objects.exists()
    assert bucket.keys() == []


# Idempotency


def test_processing_twice_publishes_one_photo(bucket, potter):
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    upload_id = PhotoUpload.objects.get(public_id=post["upload_id"]).pk

    first = uploads.upload_process(upload_id=upload_id)
    objects = bucket.keys()
    second = uploads.upload_process(upload_id=upload_id)

    assert first.status == second.status == PhotoUpload.Status.PUBLISHED
    assert first.photo_id == second.photo_id
    assert Photo.objects.count() == 1
    assert bucket.keys() == objects


def test_processing_a_refused_upload_again_changes_nothing(bucket, potter):
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=b"nope")
    upload_id = PhotoUpload.objects.get(public_id=post["upload_id"]).pk

    first = uploads.upload_process(upload_id=upload_id)
    # Even if the same key were written again, a refused upload stays refused.
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    second = uploads.upload_process(upload_id=upload_id)

    assert first.status == second.status == PhotoUpload.Status.REFUSED
    assert second.error == first.error
    assert not Photo.objects.exists()


def test_a_run_that_loses_the_race_discards_its_copy(bucket, potter, monkeypatch):
    """Two workers process the same upload; the other one finishes first."""
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    upload = PhotoUpload.objects.get(public_id=post["upload_id"])
    real_process = uploads.process_upload

    def process_then_lose(fileobj):
        processed = real_process(fileobj)
        PhotoUpload.objects.filter(pk=upload.pk).update(status=PhotoUpload.Status.PUBLISHED)
        return processed

    monkeypatch.setattr(uploads, "process_upload", process_then_lose)

    result = uploads.upload_process(upload_id=upload.pk)

    assert result.status == PhotoUpload.Status.PUBLISHED
    assert not Photo.objects.exists()  # this run's photo was rolled back…
    assert bucket.keys("photos/") == bucket.keys("thumbs/") == []  # …and its files deleted


def test_confirming_twice_is_harmless(
    bucket, potter, seller_client, django_capture_on_commit_callbacks
):
    post = _presign(seller_client)
    _post_to_bucket(post, _jpeg())

    _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)
    again = _confirm(seller_client, post["upload_id"], django_capture_on_commit_callbacks)

    assert again.status_code == 200
    assert again.json()["status"] == "published"
    assert Photo.objects.count() == 1


# Who may confirm and poll


def test_a_stranger_cannot_confirm_or_poll_someone_elses_upload(
    bucket, potter, stranger, client, django_capture_on_commit_callbacks
):
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    client.force_login(stranger)

    confirm = _confirm(client, post["upload_id"], django_capture_on_commit_callbacks)
    status = client.get(f"/dashboard/stall/photos/uploads/{post['upload_id']}/")

    assert confirm.status_code == status.status_code == 404
    assert confirm.json() == {"error": "No upload has that address."}
    assert PhotoUpload.objects.get().status == PhotoUpload.Status.WAITING
    assert not Photo.objects.exists()


def test_confirm_needs_an_upload_id(bucket, seller_client):
    response = seller_client.post(CONFIRM_URL, {}, content_type="application/json")
    assert response.status_code == 400


# The task


def test_the_task_retries_network_errors_with_backoff():
    task = tasks.photo_upload_process
    assert issubclass(EndpointConnectionError, task.autoretry_for)
    assert task.max_retries == 5
    assert task.retry_backoff


def test_the_task_retries_then_publishes(bucket, potter, monkeypatch):
    post = uploads.upload_presign(actor=potter.user, stall=potter.stall, item=None)
    bucket.client.put_object(Bucket=bucket.name, Key=post["fields"]["key"], Body=_jpeg())
    upload_id = PhotoUpload.objects.get(public_id=post["upload_id"]).pk
    calls = []

    def flaky(*, upload_id):
        calls.append(upload_id)
        if len(calls) == 1:
            raise EndpointConnectionError(endpoint_url=bucket.endpoint)
        return uploads.upload_process(upload_id=upload_id)

    monkeypatch.setattr(tasks, "upload_process", flaky)

    # Eager apply() replays a retry in place when it is not told to propagate errors.
    result = tasks.photo_upload_process.apply(args=[upload_id], throw=False)

    assert calls == [upload_id, upload_id]
    assert result.get() == "published"


def test_the_task_ignores_an_upload_deleted_meanwhile(bucket, potter):
    assert tasks.photo_upload_process.delay(987654321).get() is None
