"""Dispute evidence photos: the buyer's with the dispute, the seller's with the answer,
through the photo pipeline's screening (checked before anyone else sees them), on the
timeline for buyer, seller and stewards only, served by the order's own view (404 to
anyone else, and for a photo not screened yet), with the form's errors in place."""

import io
import re
from urllib.parse import urlencode

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from bazaar.ids import new_ulid
from governance.models import StewardAction
from notifications.models import Kind, Notice
from orders.escrow.services import order_dispute_open
from orders.models import Order
from stalls.images import process_upload
from stalls.models import Photo, PhotoUpload
from stalls.uploads import upload_review
from tests.conftest import jpeg_bytes
from tests.governance.test_screening import FakeDetector
from tests.second_step import pass_second_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    settings.PHOTO_SCREENING = "tests.governance.test_screening.FakeDetector"
    FakeDetector.score = 0.0
    return FakeDetector


def _photo(name="crack.jpg", colour=(200, 120, 40)):
    return SimpleUploadedFile(name, jpeg_bytes((320, 240), colour), content_type="image/jpeg")


def _disputed_with_a_photo(on_commit, order, buyer) -> PhotoUpload:
    """The buyer opens a dispute with one photo; its upload, screened."""
    on_commit(
        order_dispute_open,
        actor=buyer,
        order=order,
        reason="Broken",
        photos=[process_upload(_photo())],
    )
    return PhotoUpload.objects.get(evidence_for=order.public_id)


def _dispute(client, order, *photos, reason="The shade is cracked."):
    return client.post(
        reverse("orders:dispute", args=[order.public_id]),
        {"reason": reason, "photos": list(photos), "idempotency_key": new_ulid()},
    )


def _answer(client, order, *photos):
    return client.post(
        reverse("orders:dispute_answer", args=[order.public_id]),
        {"answer": "It left here whole.", "photos": list(photos), "idempotency_key": new_ulid()},
    )


def _thumbnails(html: str) -> list[str]:
    return re.findall(r'src="(/orders/[^"]+/evidence/[^"]+/thumbnail/)"', html)


def test_both_sides_photos_are_screened_then_on_the_timeline_for_both_and_stewards(
    client, fake, order, buyer, steward, django_capture_on_commit_callbacks
):
    page = reverse("orders:detail", args=[order.public_id])
    seller = order.stall.seller.user
    client.force_login(buyer)
    # Sent, not yet screened: the buyer reads "Checking…", nobody gets the file.
    with django_capture_on_commit_callbacks(execute=False):
        assert _dispute(client, order, _photo(), _photo("chip.png")).status_code == 302
    waiting = list(PhotoUpload.objects.filter(evidence_for=order.public_id))
    assert [upload.status for upload in waiting] == ["waiting", "waiting"]
    assert all(upload.key.startswith("holding/") for upload in waiting)
    body = client.get(page).content.decode()
    assert body.count("Checking…") == 2 and not _thumbnails(body)
    for upload in waiting:
        for name in ("orders:evidence", "orders:evidence_thumbnail"):
            url = reverse(name, args=[order.public_id, upload.public_id])
            assert client.get(url).status_code == 404
        assert client.get(f"/media/{upload.key}").status_code == 404
    client.force_login(seller)
    assert "Checking…" not in client.get(page).content.decode()

    # The screening job runs: both pass and are kept privately, never as a Photo.
    from stalls.uploads import upload_process

    for upload in waiting:
        upload_process(upload_id=upload.pk)
    kept = list(PhotoUpload.objects.filter(evidence_for=order.public_id))
    assert {upload.status for upload in kept} == {"published"}
    assert all(upload.private_key.startswith("evidence/") for upload in kept)
    assert not Photo.objects.exists()
    assert client.get(f"/media/{kept[0].private_key}").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        assert _answer(client, order, _photo("box.webp")).status_code == 302
    for who in (buyer, seller, steward):
        client.force_login(who)
        body = client.get(page).content.decode()
        thumbnails = _thumbnails(body)
        assert len(thumbnails) == 3, who
        assert 'aria-label="Photos from the buyer"' in body
        assert 'aria-label="Photos from the seller"' in body
        image = client.get(thumbnails[0])
        assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
        assert image["Cache-Control"] == "private, no-store"
        assert Image.open(io.BytesIO(image.content)).format == "JPEG"
    full = client.get(reverse("orders:evidence", args=[order.public_id, kept[0].public_id]))
    assert Image.open(io.BytesIO(full.content)).size == (320, 240)
    assert "Settle it in the orders admin" in body  # the steward's way on


@pytest.mark.parametrize(
    "who, status",
    [("anonymous", 404), ("stranger", 404), ("buyer", 200), ("seller", 200), ("steward", 200)],
)
def test_authorization_matrix_for_evidence_photos(
    client, fake, order, buyer, steward, make_user, on_commit, who, status
):
    """Private evidence: the order's buyer and seller and the stewards; to anyone else,
    signed in or not, neither the order nor its photos exist."""
    processed = process_upload(_photo())
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Broken", photos=[processed])
    upload = PhotoUpload.objects.get(evidence_for=order.public_id)
    assert upload.status == "published"
    people = {
        "buyer": buyer,
        "seller": order.stall.seller.user,
        "steward": steward,
        "stranger": make_user("stranger"),
    }
    if who != "anonymous":
        client.force_login(people[who])
    for url in (
        reverse("orders:detail", args=[order.public_id]),
        reverse("orders:evidence", args=[order.public_id, upload.public_id]),
        reverse("orders:evidence_thumbnail", args=[order.public_id, upload.public_id]),
    ):
        response = client.get(url)
        expected = 302 if (who == "anonymous" and url.endswith(f"{order.public_id}/")) else status
        assert response.status_code == expected, url
    # Nor is a photo reachable through another order's address.
    elsewhere = reverse("orders:evidence", args=[new_ulid(), upload.public_id])
    assert client.get(elsewhere).status_code == 404


@pytest.mark.parametrize("debug", [True, False])
def test_a_steward_reads_someone_elses_order_only_past_the_second_step(
    settings, fake, order, buyer, steward, on_commit, debug
):
    """The order page holds the buyer's address and the dispute's photos: a steward who
    is neither party, signed in with the password alone, is sent to the second step and
    back; the photo itself says why in place. The parties never are."""
    settings.DEBUG = debug
    upload = _disputed_with_a_photo(on_commit, order, buyer)
    page = reverse("orders:detail", args=[order.public_id])
    photo = reverse("orders:evidence", args=[order.public_id, upload.public_id])
    password_only = Client()
    password_only.force_login(steward)

    sent = password_only.get(page)
    assert sent.status_code == 302
    assert sent.url == f"{reverse('account:two_step_verify')}?{urlencode({'next': page})}"
    refused = password_only.get(photo)
    assert refused.status_code == 403
    assert "Stewards pass two-step verification" in refused.content.decode()

    pass_second_step(password_only.session, steward)
    assert password_only.get(page).status_code == 200
    assert password_only.get(photo).status_code == 200
    # The read is on the stewards' record (ASVS V8.3.5); the parties' own reads are not.
    read = StewardAction.objects.get(action=StewardAction.Action.ORDER_READ)
    assert (read.actor, read.target_ref) == (steward, order.public_id)
    for party in (buyer, order.stall.seller.user):
        own = Client()
        own.force_login(party)
        assert own.get(page).status_code == 200
    assert StewardAction.objects.filter(action=StewardAction.Action.ORDER_READ).count() == 1


def test_screening_refuses_or_holds_evidence_and_tells_the_uploader(
    client, fake, order, buyer, steward, on_commit
):
    fake.score = 0.95
    refused = _disputed_with_a_photo(on_commit, order, buyer)
    assert refused.status == "refused" and "appears to show nudity" in refused.error
    assert not default_storage.exists(refused.key) and not refused.private_key
    notice = Notice.objects.get(recipient=buyer, kind=Kind.PHOTO_SCREENED)
    assert notice.url == reverse("orders:detail", args=[order.public_id])
    page = reverse("orders:detail", args=[order.public_id])
    client.force_login(buyer)
    assert "was refused: This photo was refused" in client.get(page).content.decode()
    client.force_login(order.stall.seller.user)
    assert "refused" not in client.get(page).content.decode()

    # The seller's photo scores in between: it waits for a steward, in the queue.
    fake.score = 0.7
    client.force_login(order.stall.seller.user)
    on_commit(_answer, client, order, _photo())
    held = PhotoUpload.objects.get(evidence_for=order.public_id, status="held")
    client.force_login(buyer)
    assert not _thumbnails(client.get(page).content.decode())
    url = reverse("orders:evidence_thumbnail", args=[order.public_id, held.public_id])
    assert client.get(url).status_code == 404
    client.force_login(steward)
    queue = client.get(reverse("stewards:queue") + "?kind=photo").content.decode()
    assert f"Held evidence photo for the dispute on order {order.public_id}" in queue
    assert f"@{order.stall.seller.user.handle}" in queue
    on_commit(
        upload_review,
        actor=steward,
        upload_public_id=held.public_id,
        approve=True,
        reason="A cardboard box",
    )
    held.refresh_from_db()
    assert held.status == "published" and held.private_key.startswith("evidence/")
    assert StewardAction.objects.get(action="photo_approve").target_label.startswith(
        "Photo for “evidence for order"
    )
    client.force_login(buyer)
    assert client.get(url).status_code == 200


def test_a_seller_never_sees_evidence_among_their_stalls_photos(client, fake, order, buyer):
    """Evidence rides on the order's stall in the pipeline but is no stall photo: not
    in the seller's waiting photos, not counted against the stall's limit, and not
    readable through the upload status endpoint."""
    order_dispute_open(actor=buyer, order=order, reason="Broken", photos=[process_upload(_photo())])
    upload = PhotoUpload.objects.get(evidence_for=order.public_id)
    from stalls.selectors import uploads_pending_for

    assert uploads_pending_for(stall=order.stall) == []
    client.force_login(order.stall.seller.user)
    status = client.get(reverse("stalls:photo_upload_status", args=[upload.public_id]))
    assert status.status_code == 404


@pytest.mark.parametrize(
    "photos, message",
    [
        (
            lambda: [_photo(f"p{n}.jpg") for n in range(5)],
            "You chose 5 photos; send at most 4, the ones that show it best.",
        ),
        (
            lambda: [SimpleUploadedFile("notes.txt", b"not a photo", content_type="text/plain")],
            "“notes.txt”: That file is not a readable JPEG, PNG or WebP image.",
        ),
        (
            lambda: [_gif()],
            "“anim.gif”: Only JPEG, PNG or WebP photos are accepted.",
        ),
        (
            lambda: [SimpleUploadedFile("huge.jpg", b"\xff" * (5 * 1024 * 1024 + 1))],
            "“huge.jpg”: That file is over 5 MB; choose a smaller photo.",
        ),
    ],
    ids=["too-many", "not-a-photo", "wrong-type", "too-big"],
)
def test_evidence_errors_are_said_in_place_and_change_nothing(
    client, fake, order, buyer, photos, message
):
    client.force_login(buyer)
    response = _dispute(client, order, *photos())
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    # In the form, tied to the input, with the dispute form open and the reason kept.
    assert re.search(r"<details open>\s*<summary>Something wrong\?", body)
    assert 'aria-invalid="true"' in body and "id_photos_error" in body
    assert "The shade is cracked." in body
    order.refresh_from_db()
    assert order.status == Order.Status.PAID_ESCROW
    assert not PhotoUpload.objects.exists()


def test_the_sellers_answer_with_a_bad_photo_is_refused_in_place(
    client, fake, order, buyer, on_commit
):
    on_commit(order_dispute_open, actor=buyer, order=order, reason="Broken")
    client.force_login(order.stall.seller.user)
    response = _answer(client, order, SimpleUploadedFile("x.jpg", b"nope"))
    assert response.status_code == 400
    assert "“x.jpg”: That file is not a readable JPEG, PNG or WebP image." in (
        response.content.decode()
    )
    order.refresh_from_db()
    assert not order.dispute_answer


def test_the_service_holds_each_side_to_the_limit(fake, order, buyer):
    from bazaar.errors import Invalid

    photos = [process_upload(_photo()) for _ in range(5)]
    with pytest.raises(Invalid, match="At most 4 photos each"):
        order_dispute_open(actor=buyer, order=order, reason="Broken", photos=photos)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID_ESCROW and not PhotoUpload.objects.exists()


def _gif():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 0)).save(buffer, format="GIF")
    return SimpleUploadedFile("anim.gif", buffer.getvalue(), content_type="image/gif")
