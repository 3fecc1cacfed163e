"""Photo screening: the thresholds (with a fake detector), the pipeline's three outcomes,
Rekognition through botocore's Stubber, and the real NudeNet on generated pictures."""

import io
import statistics
import time

import pytest
from botocore.stub import Stubber
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw

from governance.models import StewardAction
from governance.screening import (
    HOLD,
    PUBLISH,
    REJECT,
    NudeNetDetector,
    RekognitionDetector,
    Verdict,
    screening_outcome,
)
from notifications.models import Kind, Notice
from stalls.images import process_upload
from stalls.models import Photo, PhotoUpload
from stalls.uploads import upload_process, upload_receive, upload_review
from tests.conftest import jpeg_bytes


class FakeDetector:
    """Answers the score the test sets: the thresholds, without a model."""

    name = "fake"
    score = 0.0

    def scan(self, jpeg: bytes) -> Verdict:
        Image.open(io.BytesIO(jpeg)).verify()  # it is handed a real JPEG
        return Verdict(score=FakeDetector.score, backend=self.name, labels=["TEST 1.00"])


@pytest.fixture
def fake(settings):
    settings.PHOTO_SCREENING = "tests.governance.test_screening.FakeDetector"
    return FakeDetector


@pytest.mark.parametrize(
    "score, outcome",
    [(0.0, PUBLISH), (0.4999, PUBLISH), (0.5, HOLD), (0.88, HOLD), (0.8801, REJECT), (1.0, REJECT)],
)
def test_thresholds(score, outcome):
    assert screening_outcome(score) == outcome


def _receive(stall, item=None):
    processed = process_upload(SimpleUploadedFile("p.jpg", jpeg_bytes((400, 300))))
    return upload_receive(actor=stall.seller.user, stall=stall, item=item, processed=processed)


@pytest.mark.django_db
def test_a_low_score_publishes_and_stores_the_score(fake, stall):
    fake.score = 0.12
    upload = upload_process(upload_id=_receive(stall).pk)
    assert upload.status == PhotoUpload.Status.PUBLISHED
    assert (upload.score, upload.backend, upload.labels) == (0.12, "fake", ["TEST 1.00"])
    assert upload.photo.image.name.startswith("photos/")
    assert not default_storage.exists(upload.key)


@pytest.mark.django_db
def test_a_high_score_is_refused_and_the_seller_told(fake, stall, on_commit):
    fake.score = 0.95
    upload = on_commit(upload_process, upload_id=_receive(stall).pk)
    assert upload.status == PhotoUpload.Status.REFUSED
    assert "appears to show nudity" in upload.error
    assert not Photo.objects.exists() and not default_storage.exists(upload.key)
    notice = Notice.objects.get(recipient=stall.seller.user)
    assert notice.kind == Kind.PHOTO_SCREENED and "refused" in notice.title


@pytest.mark.django_db
def test_a_middling_score_waits_for_a_steward_unseen(fake, stall, client, steward, on_commit):
    fake.score = 0.7
    upload = upload_process(upload_id=_receive(stall).pk)
    assert upload.status == PhotoUpload.Status.HELD
    assert not Photo.objects.exists()
    # Not served publicly: the media view refuses the holding prefix.
    assert client.get(f"/media/{upload.key}").status_code == 404
    # The seller's status says so; the steward sees it in the queue.
    client.force_login(stall.seller.user)
    status = client.get(reverse("stalls:photo_upload_status", args=[upload.public_id])).json()
    assert status["status"] == "held" and "steward" in status["message"]
    client.force_login(steward)
    queue = client.get(reverse("stewards:queue") + "?kind=photo").content.decode()
    assert "Screening score 0.70 (fake)" in queue
    image = client.get(reverse("stewards:held_photo", args=[upload.public_id]))
    assert image["Content-Type"] == "image/jpeg" and image["Cache-Control"] == "private, no-store"

    on_commit(
        upload_review,
        actor=steward,
        upload_public_id=upload.public_id,
        approve=True,
        reason="A vase",
    )
    upload.refresh_from_db()
    assert upload.status == PhotoUpload.Status.PUBLISHED and upload.reviewed_by == steward
    assert StewardAction.objects.get().action == StewardAction.Action.PHOTO_APPROVE
    assert Notice.objects.filter(kind=Kind.PHOTO_SCREENED, recipient=stall.seller.user).exists()


@pytest.mark.django_db
def test_a_steward_refusing_a_held_photo_and_the_rules_of_review(fake, stall, steward):
    from bazaar.errors import Conflict, NotAllowed

    fake.score = 0.6
    upload = upload_process(upload_id=_receive(stall).pk)
    with pytest.raises(NotAllowed):
        upload_review(
            actor=stall.seller.user, upload_public_id=upload.public_id, approve=True, reason="x"
        )
    upload_review(actor=steward, upload_public_id=upload.public_id, approve=False, reason="Nude")
    upload.refresh_from_db()
    assert (upload.status, upload.error) == (PhotoUpload.Status.REFUSED, "Nude")
    with pytest.raises(Conflict, match="not held any more"):
        upload_review(actor=steward, upload_public_id=upload.public_id, approve=True, reason="x")


@pytest.mark.django_db
def test_held_photos_are_steward_eyes_only(fake, stall, client, make_user):
    fake.score = 0.6
    upload = upload_process(upload_id=_receive(stall).pk)
    url = reverse("stewards:held_photo", args=[upload.public_id])
    client.force_login(stall.seller.user)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


# AWS Rekognition, behind the same interface


def _stubbed(labels):
    import boto3

    client = boto3.client(
        "rekognition", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_response(
        "detect_moderation_labels",
        {"ModerationLabels": labels, "ModerationModelVersion": "7.0"},
        {"Image": {"Bytes": b"jpeg"}, "MinConfidence": 50.0},
    )
    stubber.activate()
    return RekognitionDetector(client=client), stubber


def test_rekognition_scores_the_nudity_labels_only():
    detector, stubber = _stubbed(
        [
            {"Name": "Exposed Female Nipple", "ParentName": "Explicit", "Confidence": 93.5},
            {"Name": "Weapons", "ParentName": "Violence", "Confidence": 99.0},
        ]
    )
    verdict = detector.scan(b"jpeg")
    stubber.assert_no_pending_responses()
    assert verdict == Verdict(
        score=0.935, backend="rekognition", labels=["Exposed Female Nipple 94%"]
    )
    assert screening_outcome(verdict.score) == REJECT


def test_rekognition_with_nothing_found_publishes():
    detector, _ = _stubbed([{"Name": "Weapons", "ParentName": "Violence", "Confidence": 99.0}])
    assert detector.scan(b"jpeg").score == 0.0


@pytest.mark.django_db
def test_the_pipeline_uses_rekognition_when_configured(settings, stall, monkeypatch):
    settings.PHOTO_SCREENING = "rekognition"
    detector, stubber = _stubbed([{"Name": "Suggestive", "ParentName": "", "Confidence": 70.0}])
    stubber.deactivate()
    stubber = Stubber(detector.client)
    stubber.add_response(
        "detect_moderation_labels",
        {
            "ModerationLabels": [
                {"Name": "Nudity", "ParentName": "Explicit Nudity", "Confidence": 64.0}
            ]
        },
    )
    stubber.activate()
    monkeypatch.setitem(
        __import__("governance.screening", fromlist=["BACKENDS"]).BACKENDS,
        "rekognition",
        lambda: detector,
    )
    upload = upload_process(upload_id=_receive(stall).pk)
    assert (upload.status, upload.backend, upload.score) == ("held", "rekognition", 0.64)


# The real NudeNet, on pictures made here


def _picture(kind: str) -> bytes:
    image = Image.new("RGB", (900, 600), (235, 230, 220))
    draw = ImageDraw.Draw(image)
    if kind == "vase":
        draw.ellipse((350, 150, 550, 500), fill=(40, 90, 160))
        draw.rectangle((420, 80, 480, 160), fill=(40, 90, 160))
    elif kind == "stripes":
        for x in range(0, 900, 60):
            draw.rectangle((x, 0, x + 30, 600), fill=(180, 40, 40))
    elif kind == "lamp":
        draw.polygon([(300, 100), (600, 100), (520, 300), (380, 300)], fill=(220, 180, 60))
        draw.rectangle((440, 300, 460, 520), fill=(90, 70, 50))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["vase", "stripes", "lamp", "plain"])
def test_nudenet_passes_plain_pictures(kind):
    verdict = NudeNetDetector().scan(_picture(kind))
    assert verdict.backend == "nudenet"
    assert screening_outcome(verdict.score) == PUBLISH, verdict


def test_nudenet_time_per_image_is_reported(capsys):
    """Not a timing assertion (the machine is shared): the median is printed."""
    detector = NudeNetDetector()
    pictures = [_picture(kind) for kind in ("vase", "stripes", "lamp", "plain")]
    detector.scan(pictures[0])  # the model loads once per process
    times = []
    for picture in pictures * 3:
        started = time.perf_counter()
        detector.scan(picture)
        times.append(time.perf_counter() - started)
    with capsys.disabled():
        print(
            f"\nNudeNet: median {statistics.median(times) * 1000:.0f} ms a photo over {len(times)}"
        )
    assert len(times) == 12
