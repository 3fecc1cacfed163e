"""The stewards' pages in a browser at 1366 and 390 px: the queue (with a case of each
kind), the sections map and an election with live turnout; axe finds nothing, and a
voter votes by keyboard."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from governance.models import ChatSanction, Role
from governance.services import role_grant, sanction_impose
from market.services import sections_ensure
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (
    PHONE,
    BrowserTestCase,
    item_with_photo,
    off_the_event_loop,
    screenshot,
    seller_stall,
    verified_user,
)

pytestmark = pytest.mark.browser

WIDE = {"width": 1366, "height": 900}
# Where to keep a copy of the screenshots to look at (BAZAAR_SHOTS_DIR); they are
# always in var/screenshots.
SHOTS = os.environ.get("BAZAAR_SHOTS_DIR", "")


def _seed():
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from governance.reports import appeal_create, report_create
    from stalls.models import ChatMessage, PhotoUpload, SellerProfile
    from stewards.elections import candidacy_stand, election_create, vote_cast
    from stewards.models import Election
    from stewards.targets import report_target
    from tests.conftest import jpeg_bytes

    sections_ensure(coordinates=[(x, y) for x in range(3) for y in range(2)])
    names = ["Brass & Lamps", "Old Books", "Vinyl Corner", "Teacups", "Tin Toys"]
    stalls = [
        seller_stall(handle=f"seller{n}", legal_name=f"Seller {n}", name=name, x=n % 3, slot=n)
        for n, name in enumerate(names)
    ]
    item = item_with_photo(
        stall=stalls[0],
        title="Brass lamp",
        description="",
        price_cents=2500,
        inventory=1,
        colour=(190, 140, 50),
    )
    SellerProfile.objects.update(
        kyc_status="approved", created_at=timezone.now() - timedelta(days=90)
    )
    steward = verified_user("warden")
    role_grant(user=steward, role=Role.STEWARD)
    ops = verified_user("opsy")
    role_grant(user=ops, role=Role.OPS)
    shopper = verified_user("shopper")
    report_create(
        reporter=shopper,
        target=report_target(kind="item", public_id=item.public_id),
        reason="counterfeit",
        details="The maker's mark is printed on, not stamped.",
    )
    ChatMessage.objects.create(
        stall=stalls[1],
        author=shopper,
        text="Pay me outside the market, cheaper",
        status="held",
        flags=["outside"],
    )
    key = default_storage.save("holding/shots/held.jpg", ContentFile(jpeg_bytes((400, 300))))
    PhotoUpload.objects.create(
        stall=stalls[2],
        key=key,
        direct=False,
        status="held",
        score=0.71,
        backend="nudenet",
        labels=["BUTTOCKS_EXPOSED 0.71"],
    )
    sanction = sanction_impose(
        user=shopper,
        kind=ChatSanction.Kind.MUTE,
        reason="Shouting in capitals",
        duration=timedelta(days=1),
        imposed_by=steward,
    )
    appeal_create(user=shopper, sanction=sanction, text="I was excited about the teacups. Sorry!")

    now = timezone.now()
    election = election_create(
        actor=ops,
        title="Winter steward election",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=3),
    )
    statements = [
        "Twelve years at the Sunday market. I answer reports within a day and explain why.",
        "I sell vintage books and I want chat to stay friendly. Fair, quick and open.",
    ]
    candidacies = [
        candidacy_stand(user=stall.seller.user, election=election, statement=text)
        for stall, text in zip(stalls[:2], statements, strict=True)
    ]
    Election.objects.filter(pk=election.pk).update(opens_at=now - timedelta(hours=2))
    election.refresh_from_db()
    vote_cast(
        voter=stalls[2].seller.user, election=election, candidacy_public_id=candidacies[0].public_id
    )
    return {"steward": steward, "voter": stalls[3].seller.user, "election": election.public_id}


def _keep(path: Path, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / f"{name}.png")


class StewardPagesInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.world = off_the_event_loop(_seed)

    def test_the_queue_the_map_and_the_election_at_both_widths(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(self.world["steward"], viewport=viewport)
            page.goto(f"{self.live_server_url}/admin/queue/")
            expect(page.locator(".queue-table")).to_contain_text("Pay me outside the market")
            expect(page.locator(".queue-table")).to_contain_text("Screening score 0.71")
            expect(page.locator(".queue-table")).to_contain_text("Appeal of @shopper")
            assert_accessible(page, f"steward queue at {width}")
            _keep(screenshot(page, f"queue-{width}"), f"queue-{width}")

            page.goto(f"{self.live_server_url}/admin/")
            expect(page.locator("#steward-console")).to_contain_text("Steward queue: 4 waiting")
            assert_accessible(page, f"admin index at {width}")
            _keep(screenshot(page, f"admin-index-{width}"), f"admin-index-{width}")

            page.goto(f"{self.live_server_url}/admin/sections/")
            assert_accessible(page, f"sections map at {width}")
            _keep(screenshot(page, f"sections-{width}"), f"sections-{width}")

            page.goto(f"{self.live_server_url}/elections/{self.world['election']}/")
            expect(page.locator("#turnout")).to_contain_text("1 of 5 sellers")
            assert_accessible(page, f"election at {width}")
            _keep(screenshot(page, f"election-{width}"), f"election-{width}")

    def test_a_seller_votes_by_keyboard_and_the_vote_stays_secret(self):
        page = self.new_page(self.world["voter"], viewport=WIDE)
        page.goto(f"{self.live_server_url}/elections/{self.world['election']}/")
        page.get_by_label("@seller1").focus()
        page.keyboard.press("Space")
        page.get_by_role("button", name="Cast my vote").press("Enter")
        expect(page.locator("body")).to_contain_text("Your vote is in")
        expect(page.locator("#turnout")).to_contain_text("2 of 5 sellers")
        expect(page.locator("#turnout")).to_contain_text("secret until it closes")
        expect(page.get_by_role("button", name="Cast my vote")).to_have_count(0)
        _keep(screenshot(page, "election-voted-1366"), "election-voted-1366")


def _disputed_and_answered():
    from orders.escrow.disputes import order_dispute_answer
    from orders.escrow.services import order_dispute_open, order_ship
    from tests.browser.test_orders_browser import _seed as orders_seed
    from tests.orders.conftest import connect_payouts, pay, save_address, start_checkout

    (lamps, _), buyer = orders_seed()
    seller = lamps.seller.user
    connect_payouts(seller)
    save_address(buyer)
    payment = start_checkout(buyer, lamps.items.get())
    pay(payment)
    order = payment.orders.get()
    order_ship(actor=seller, order=order, carrier="Royal Mail", tracking_number="RM123")
    # The photos go through the real screening (NudeNet) as they are sent: pictures of
    # a lamp and a parcel pass.
    order_dispute_open(
        actor=buyer,
        order=order,
        reason="The base arrived with a chip.",
        photos=[_evidence("chip"), _evidence("lamp")],
    )
    order_dispute_answer(
        actor=seller,
        order=order,
        answer="It was packed in bubble wrap; the carrier dropped it.",
        photos=[_evidence("parcel")],
    )
    steward = verified_user("arbiter")
    role_grant(user=steward, role=Role.STEWARD)
    return buyer, seller, steward, order


def _evidence(subject: str):
    """A drawn photo of the dispute's subject, checked and re-encoded as an upload is."""
    import io

    from PIL import Image, ImageDraw

    from stalls.images import process_upload

    picture = Image.new("RGB", (640, 480), (236, 228, 214))
    draw = ImageDraw.Draw(picture)
    if subject == "parcel":
        draw.rectangle((170, 150, 470, 380), fill=(176, 132, 84), outline=(90, 60, 30), width=6)
        draw.line((170, 230, 470, 230), fill=(220, 200, 160), width=18)
        draw.polygon([(400, 150), (470, 150), (470, 210)], fill=(120, 85, 50))
    else:
        draw.ellipse((200, 330, 440, 420), fill=(184, 134, 48), outline=(110, 80, 20), width=5)
        draw.rectangle((305, 150, 335, 340), fill=(170, 125, 45))
        draw.polygon([(230, 60), (410, 60), (460, 160), (180, 160)], fill=(240, 215, 150))
        if subject == "chip":
            draw.line((330, 335, 350, 365, 338, 380, 362, 410), fill=(40, 30, 20), width=5)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    buffer.seek(0)
    return process_upload(buffer)


class DisputeTimelineInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.buyer, self.seller, self.steward, self.order = off_the_event_loop(
            _disputed_and_answered
        )
        self.path = f"/orders/{self.order.public_id}/"

    def test_the_dispute_on_the_timeline_paused_then_settled_in_part(self):
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(self.buyer, viewport=viewport)
            page.goto(f"{self.live_server_url}{self.path}")
            expect(page.locator("#dispute-clock")).to_contain_text("Escrow countdown paused")
            expect(page.locator(".timeline")).to_contain_text("The seller answered")
            expect(page.locator(".timeline .evidence img")).to_have_count(3)
            assert_accessible(page, f"disputed order at {width}")
            _keep(screenshot(page, f"dispute-open-{width}"), f"dispute-open-{width}")
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(self.steward, viewport=viewport)
            page.goto(f"{self.live_server_url}{self.path}")
            photos = page.locator(".timeline .evidence img")
            expect(photos).to_have_count(3)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.evidence img')]"
                ".every(img => img.complete && img.naturalWidth > 0)"
            )
            expect(page.locator(".actions-panel")).to_contain_text("Settle it in the orders admin")
            assert_accessible(page, f"dispute timeline with evidence, as a steward, at {width}")
            _keep(screenshot(page, f"dispute-evidence-{width}"), f"dispute-evidence-{width}")
            page.goto(f"{self.live_server_url}/admin/queue/?kind=dispute")
            expect(page.locator(".queue-table")).to_contain_text("The base arrived with a chip.")
            expect(page.get_by_role("link", name="Timeline and evidence")).to_have_attribute(
                "href", self.path
            )
            assert_accessible(page, f"steward queue of disputes at {width}")
            _keep(screenshot(page, f"queue-disputes-{width}"), f"queue-disputes-{width}")

        from orders.escrow.services import order_dispute_settle

        off_the_event_loop(
            order_dispute_settle,
            actor=self.steward,
            order=self.order,
            refund_cents=1000,
            reason="The chip is real but small: $10.00 back, the rest to the seller.",
        )
        for width, viewport in (("1366", WIDE), ("390", PHONE)):
            page = self.new_page(self.buyer, viewport=viewport)
            page.goto(f"{self.live_server_url}{self.path}")
            expect(page.locator(".timeline")).to_contain_text("The steward: The chip is real")
            expect(page.locator("h1 .status")).to_have_text("Partly refunded")
            _keep(screenshot(page, f"dispute-settled-{width}"), f"dispute-settled-{width}")
