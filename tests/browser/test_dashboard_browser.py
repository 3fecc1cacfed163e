"""The seller's dashboard in a real browser: photos are shrunk before they leave it."""

import io
import os
import re

import pytest
from django.conf import settings
from PIL import Image

from market.services import sections_ensure
from stalls.models import Photo
from stalls.services import item_create
from tests.browser.conftest import BrowserTestCase, off_the_event_loop, screenshot, seller_stall

pytestmark = pytest.mark.browser


def _seller_with_item():
    sections_ensure(coordinates=[(0, 0)])
    stall = seller_stall(handle="photographer", legal_name="Photo Grapher", name="Lens Stall")
    item = item_create(
        actor=stall.seller.user,
        stall=stall,
        title="Old camera",
        description="",
        price_cents=4500,
        currency=settings.MARKET_CURRENCY,
        inventory=1,
    )
    return stall.seller.user, item


def _noisy_png(path, size=(3000, 2200)) -> int:
    """Random pixels do not compress: about 20 MB, four times the server's limit."""
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(path, format="PNG")
    return path.stat().st_size


class DashboardInTheBrowser(BrowserTestCase):
    @pytest.fixture(autouse=True)
    def _tmp_path(self, tmp_path):
        self.tmp_path = tmp_path

    def test_a_huge_photo_is_shrunk_under_500_kb_in_the_browser_and_accepted(self):
        user, item = off_the_event_loop(_seller_with_item)
        picture = self.tmp_path / "huge.png"
        original_size = _noisy_png(picture)
        assert original_size > settings.PHOTO_MAX_UPLOAD_BYTES
        page = self.new_page(user)
        page.set_default_timeout(30_000)
        uploads = []
        page.on(
            "request",
            lambda request: (
                uploads.append(len(request.post_data_buffer or b""))
                if request.method == "POST" and request.url.endswith("/dashboard/stall/photos/")
                else None
            ),
        )
        page.goto(f"{self.live_server_url}/dashboard/stall/items/{item.public_id}/")
        page.locator("form[data-photo-upload] input[type=file]").set_input_files(str(picture))
        page.locator("form[data-photo-upload] button[type=submit]").click()
        page.wait_for_url(re.compile(rf"/dashboard/stall/items/{item.public_id}/$"))
        page.locator(".photo-strip img").first.wait_for()
        assert len(uploads) == 1
        assert uploads[0] <= 500 * 1024 + 2048  # the photo plus the form's other fields
        photo = Photo.objects.get(item=item)
        assert max(photo.width, photo.height) <= settings.PHOTO_SIZE
        with Image.open(io.BytesIO(photo.image.read())) as stored:
            assert stored.format == "JPEG"
        screenshot(page, "item-edit-desktop")
