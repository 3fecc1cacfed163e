"""The seller's dashboard in a real browser: photos are shrunk before they leave it,
and every upload says in place what became of it (issue 13, point 3)."""

import io
import os

import pytest
from django.conf import settings
from PIL import Image
from playwright.sync_api import expect

from market.services import sections_ensure
from stalls.models import Item, Photo
from stalls.services import item_create
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserTestCase,
    off_the_event_loop,
    screenshot,
    seller_stall,
)
from tests.conftest import jpeg_bytes, new_photo

pytestmark = pytest.mark.browser

# Shrinking in the browser, then the screening scan on the server: on a busy machine
# this takes longer than an expectation's default 5 s.
SCANNED_MS = 20_000


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
        expect(page.locator("[data-upload-status]")).to_have_text(
            "Photo added.", timeout=SCANNED_MS
        )
        page.locator(".photo-strip img").first.wait_for()
        assert len(uploads) == 1
        assert uploads[0] <= 500 * 1024 + 2048  # the photo plus the form's other fields
        photo = Photo.objects.get(item=item)
        assert max(photo.width, photo.height) <= settings.PHOTO_SIZE
        with Image.open(io.BytesIO(photo.image.read())) as stored:
            assert stored.format == "JPEG"
        screenshot(page, "item-edit-desktop")

    def upload(self, page, path, form="form[data-photo-upload]"):
        page.locator(f"{form} input[type=file]").set_input_files(str(path))
        page.locator(f"{form} button[type=submit]").click()

    def test_each_upload_says_in_place_what_became_of_it(self):
        user, item = off_the_event_loop(_seller_with_item)
        good = self.tmp_path / "good.jpg"
        good.write_bytes(jpeg_bytes((800, 600)))
        text = self.tmp_path / "notes.jpg"
        text.write_text("Not a photo at all.")
        big = self.tmp_path / "scan.jpg"
        big.write_bytes(os.urandom(settings.PHOTO_MAX_UPLOAD_BYTES + 1024))
        page = self.new_page(user)
        page.goto(f"{self.live_server_url}/dashboard/stall/items/{item.public_id}/")
        page.evaluate("window.__sameDocument = true")
        status = page.locator("form[data-photo-upload] [data-upload-status]")
        refusal = page.locator("form[data-photo-upload] [data-upload-error]")
        file_input = page.locator("form[data-photo-upload] input[type=file]")
        expect(status).to_have_attribute("role", "status")

        self.upload(page, good)
        expect(status).to_have_text("Photo added.", timeout=SCANNED_MS)
        expect(page.locator("#item-photos img")).to_have_count(1)
        expect(refusal).to_be_hidden()

        self.upload(page, text)
        expect(refusal).to_have_text("That file is not a readable JPEG, PNG or WebP image.")
        expect(refusal).to_have_attribute("role", "alert")
        expect(file_input).to_have_attribute("aria-invalid", "true")
        expect(status).to_have_text("")
        self.upload(page, big)
        expect(refusal).to_have_text("That file is over 5 MB; choose a smaller photo.")

        off_the_event_loop(lambda: [new_photo(item.stall, item) for _ in range(5)])
        self.upload(page, good)
        expect(refusal).to_have_text("At most 6 photos; delete one first.")
        assert page.evaluate("window.__sameDocument") is True  # said in place, no reload
        screenshot(page, "item-photos-refused-desktop")

        # The stall's own photos, on the dashboard, at phone width.
        phone = self.new_page(user, viewport=PHONE)
        phone.goto(f"{self.live_server_url}/dashboard/stall/")
        self.upload(phone, good)
        expect(phone.locator("[data-upload-status]")).to_have_text(
            "Photo added.", timeout=SCANNED_MS
        )
        expect(phone.locator("#stall-photos img")).to_have_count(1)
        screenshot(phone, "stall-photos-added-phone")


def _seller_with_a_full_stall():
    """A seller whose stall holds as many items on sale as a stall may."""
    user, item = _seller_with_item()
    Item.objects.bulk_create(
        Item(stall=item.stall, title=f"Spoon {n}", price_cents=300, currency=item.currency)
        for n in range(settings.ITEMS_PER_STALL - 1)
    )
    return user


class FullStallInTheBrowser(BrowserTestCase):
    def test_a_full_stall_says_why_the_item_was_not_added_and_keeps_the_form(self):
        user = off_the_event_loop(_seller_with_a_full_stall)
        for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
            page = self.new_page(user, viewport=viewport)
            page.goto(f"{self.live_server_url}/dashboard/stall/")
            form = page.locator("form[action='/dashboard/stall/items/']")
            form.get_by_label("Title").fill("Green vase")
            form.get_by_label("Price").fill("12.50")
            form.get_by_label("Category").select_option("kitchen")
            form.get_by_label("Good").check()
            form.get_by_role("button", name="Add item").click()
            refusal = page.get_by_text(
                f"A stall can have {settings.ITEMS_PER_STALL} items on sale at once."
            )
            expect(refusal).to_be_visible()
            expect(page.get_by_label("Title")).to_have_value("Green vase")
            screenshot(page, f"item-new-stall-full-{name}")
            page.close()
