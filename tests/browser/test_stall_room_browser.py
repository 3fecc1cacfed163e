"""The stall room in a real browser: chat, cursors and presence between two people,
held messages, scroll-back, the item drawer, and Y.js agreeing with pycrdt."""

import base64
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from governance.models import ChatSanction, Role
from governance.services import banned_word_add, role_grant, sanction_impose, sanction_lift
from stalls.models import ChatMessage
from stalls.room.chat import chat_post
from stalls.room.document import (
    chat_entry_insert,
    chat_entry_remove,
    document_compact,
    new_doc,
    presence_set,
)
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    WATCH_SOCKETS,
    BrowserTestCase,
    lamp_stall,
    off_the_event_loop,
    screenshot,
    until_the_room_is_empty,
    verified_user,
)

pytestmark = pytest.mark.browser

SYNCED = "#stall-room[data-synced=true]"
ROWS = "[data-chat-list] > li.msg"
# Keeps the page's sockets reachable and notes the size of each binary frame received.


def _seed_room():
    stall, _ = lamp_stall(description="Old **lamps**, polished by hand. Ask in the chat!")
    return stall, verified_user("alice"), verified_user("bob")


def _chat_history(stall, count: int) -> None:
    """`count` messages, five per author (chat_post allows five every ten seconds)."""
    authors = [verified_user(f"talker{n:02d}") for n in range((count + 4) // 5)]
    for number in range(1, count + 1):
        chat_post(user=authors[(number - 1) // 5], stall=stall, text=f"message {number}")


def _pycrdt_updates() -> tuple[list[bytes], dict]:
    """A document's updates, one per change, as the server stores them; and its content."""
    doc = new_doc()
    updates = []

    def change(apply):
        before = doc.get_state()
        with doc.transaction():
            apply(doc)
        updates.append(doc.get_update(before))

    def entry(message_id, author, text):
        return {
            "id": message_id,
            "author": author,
            "author_id": f"U-{author}",
            "text": text,
            "at": "2026-11-28T09:00:00+00:00",
            "mentions": ["bob"] if "@bob" in text else [],
        }

    change(lambda d: presence_set(d, "U-alice", {"id": "U-alice", "handle": "alice"}))
    change(lambda d: chat_entry_insert(d, entry("01B", "alice", "hi @bob")))
    change(lambda d: presence_set(d, "U-bob", {"id": "U-bob", "handle": "bob", "seller": False}))
    change(lambda d: chat_entry_insert(d, entry("01D", "bob", "hello")))
    change(lambda d: presence_set(d, "U-alice", {"id": "U-alice", "handle": "alice", "x": 1}))
    change(lambda d: chat_entry_insert(d, entry("01A", "alice", "first, by id")))
    change(lambda d: chat_entry_insert(d, entry("01C", "bob", "<b>not bold</b>")))
    change(lambda d: chat_entry_remove(d, "01D"))
    change(lambda d: presence_set(d, "U-bob", None))
    change(
        lambda d: presence_set(d, "U-alice", {"id": "U-alice", "handle": "alice", "seller": True})
    )
    content = {name: doc[name].to_py() for name in ("chat", "offers", "presence")}
    return updates, content


class StallRoomInTheBrowser(BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.stall, self.alice, self.bob = off_the_event_loop(_seed_room)
        self.path = f"/stalls/{self.stall.public_id}/"
        self.dialogs = []

    def tearDown(self):
        super().tearDown()
        until_the_room_is_empty(self.stall.pk)

    def visit(self, user=None, viewport=DESKTOP, synced=True, watch=False, **context_options):
        """A browser of its own (signed in as `user`, or a guest) on the stall page, synced."""
        page = self.new_page(user, viewport=viewport, **context_options)
        if watch:
            page.add_init_script(WATCH_SOCKETS)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{self.live_server_url}{self.path}")
        if synced:
            page.wait_for_selector(SYNCED, state="attached")
        return page

    def say(self, page, text):
        box = page.locator("[data-composer-text]")
        box.fill(text)
        box.press("Enter")

    def point(self, page, fx, fy):
        """Move the mouse to a fraction of the stall area, in a few steps."""
        box = page.locator("#stall-area").bounding_box()
        page.mouse.move(box["x"] + 5, box["y"] + 5)
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=6)

    def cursor_arrives(self, page, handle, fx, fy, tolerance=0.02):
        """Wait until `handle`'s cursor rests at (fx, fy) of the stall area, as `page` draws it."""
        page.wait_for_function(
            """([handle, fx, fy, tolerance]) => {
                const area = document.getElementById('stall-area').getBoundingClientRect();
                const c = document.querySelector(`.room-cursor[data-handle=${handle}]`);
                if (!c) return false;
                const box = c.getBoundingClientRect();
                const x = (box.left - area.left) / area.width;
                const y = (box.top - area.top) / area.height;
                return Math.abs(x - fx) < tolerance && Math.abs(y - fy) < tolerance;
            }""",
            arg=[handle, fx, fy, tolerance],
            timeout=3000,
        )

    def row(self, page, text):
        return page.locator(ROWS, has=page.locator(".msg-text", has_text=text))

    def test_two_people_see_each_others_cursor_chat_and_presence(self):
        alice = self.visit(self.alice)
        bob = self.visit(self.bob)
        for page in (alice, bob):
            page.wait_for_function(
                "() => document.querySelector('[data-room-count]').textContent === '2 here'"
            )
            handles = page.locator("[data-room-visitors] .visitor").evaluate_all(
                "rows => rows.map(r => r.dataset.handle).sort()"
            )
            assert handles == ["alice", "bob"]

        # Cursors: each sees the other's, where it is, and never their own.
        self.point(alice, 0.3, 0.4)
        self.cursor_arrives(bob, "alice", 0.3, 0.4)
        assert bob.locator(".room-cursor-label").inner_text() == "alice"
        self.point(bob, 0.7, 0.2)
        self.cursor_arrives(alice, "bob", 0.7, 0.2)
        self.point(alice, 0.5, 0.6)
        self.cursor_arrives(bob, "alice", 0.5, 0.6)
        assert alice.locator(".room-cursor[data-handle=alice]").count() == 0
        assert bob.locator(".room-cursor[data-handle=bob]").count() == 0

        # Chat: Alice asks Bob; the mention is highlighted for him.
        self.say(alice, "Hello @bob, is the lamp still for sale?")
        self.row(alice, "is the lamp still for sale").wait_for()
        mine = self.row(bob, "is the lamp still for sale")
        mine.wait_for()
        assert "mentions-me" in mine.get_attribute("class")
        assert mine.locator("mark.mention").inner_text() == "@bob"
        assert mine.locator(".msg-author").inner_text() == "alice"
        assert mine.locator("time").inner_text() == "just now"
        assert mine.locator("time").get_attribute("title")
        assert alice.locator("[data-chat-pending] li").count() == 0
        assert off_the_event_loop(
            lambda: ChatMessage.objects.filter(
                stall=self.stall,
                author=self.alice,
                text="Hello @bob, is the lamp still for sale?",
                status=ChatMessage.Status.VISIBLE,
                mentions=["bob"],
            ).exists()
        )

        # Markup is text, never markup.
        markup = "<img src=x onerror=alert(1)> {{7*7}}"
        self.say(bob, markup)
        for page in (alice, bob):
            row = self.row(page, "onerror")
            row.wait_for()
            assert row.locator(".msg-text").text_content() == markup
            assert page.locator("[data-chat-log] img").count() == 0
            assert "49" not in page.locator("[data-chat-log]").inner_text()
        self.say(bob, "{{7*7}}")
        expect(self.row(alice, "{{7*7}}")).to_have_count(2)
        assert self.dialogs == []

        # A reload syncs the document again: the history is still there, in order.
        bob.reload()
        bob.wait_for_selector(SYNCED, state="attached")
        texts = bob.locator(f"{ROWS} .msg-text").all_text_contents()
        assert texts == ["Hello @bob, is the lamp still for sale?", markup, "{{7*7}}"]
        assert bob.locator("[data-chat-log] img").count() == 0

    def test_after_a_lost_connection_only_what_was_missed_comes_back(self):
        off_the_event_loop(_chat_history, self.stall, 40)
        alice = self.visit(self.alice, watch=True)
        bob = self.visit(self.bob)
        self.row(alice, "message 40").wait_for()
        first_sync = alice.evaluate("window.__binaryIn[0]")
        alice.evaluate("window.__sockets[0].close()")
        alice.wait_for_selector("#stall-room[data-synced=false]", state="attached")
        assert alice.locator("[data-room-status]").inner_text() == "Reconnecting…"
        self.say(bob, "Did I miss anything?")
        self.row(bob, "Did I miss anything?").wait_for()
        alice.wait_for_function("() => window.__sockets.length === 2")
        alice.wait_for_selector(SYNCED, state="attached")
        self.row(alice, "Did I miss anything?").wait_for()
        assert alice.locator("[data-room-status]").inner_text() == "Live"
        # Same epoch: the document was kept and sent its state vector, so the
        # second step 2 holds only what changed, not the forty messages again.
        second_sync = alice.evaluate("window.__binaryIn[window.__binaryIn.length - 1]")
        assert second_sync < first_sync / 4, (first_sync, second_sync)
        texts = alice.locator(f"{ROWS} .msg-text").all_text_contents()
        assert texts == [f"message {n}" for n in range(1, 41)] + ["Did I miss anything?"]

    def test_a_batch_frame_is_handled_frame_by_frame(self):
        """A busy room's broadcasts arrive as `batch` frames (bazaar.fanout)."""
        alice = self.visit(self.alice, watch=True)
        lamp, shade = alice.locator("#stall-area [data-stock-for]").evaluate_all(
            "nodes => nodes.map(node => node.dataset.stockFor)"
        )
        alice.evaluate(
            """([lamp, shade]) => window.__deliver({type: 'batch', frames: [
                {type: 'stock', item: lamp, available: 3, on_hold: 1},
                {type: 'stock', item: shade, available: 0, on_hold: 0},
            ]})""",
            [lamp, shade],
        )
        expect(alice.locator(f"#stall-area [data-stock-for='{lamp}']")).to_have_text(
            "3 available · 1 on hold"
        )
        expect(alice.locator(f"#stall-area [data-stock-for='{shade}']")).to_have_text("Sold out")

    def test_compaction_and_a_missed_update_resync_without_losing_messages(self):
        off_the_event_loop(_chat_history, self.stall, 5)
        alice = self.visit(self.alice, watch=True)
        bob = self.visit(self.bob)
        expect(alice.locator(ROWS)).to_have_count(5)
        epoch = off_the_event_loop(
            document_compact, stall_id=self.stall.pk, stall_public_id=self.stall.public_id
        )
        # The broadcast of the new epoch goes to the test process's channel layer,
        # not the live server's: deliver it as the server would.
        alice.evaluate("(epoch) => window.__deliver({type: 'doc_epoch', epoch})", epoch)
        alice.wait_for_selector(SYNCED, state="attached")
        expect(alice.locator(ROWS)).to_have_count(5)
        self.say(bob, "after the compaction")  # Bob's page learns the epoch from this update
        self.row(alice, "after the compaction").wait_for()
        self.row(bob, "after the compaction").wait_for()
        texts = alice.locator(f"{ROWS} .msg-text").all_text_contents()
        assert texts == [f"message {n}" for n in range(1, 6)] + ["after the compaction"]
        # A pong ahead of what was applied (a lost update): sync again.
        sent = alice.evaluate("window.__binaryOut")
        alice.evaluate(
            "(epoch) => window.__deliver("
            "{type: 'pong', epoch, seq: 1e12, server_time: Date.now() / 1000})",
            epoch,
        )
        alice.wait_for_function(f"() => window.__binaryOut === {sent + 1}")
        alice.wait_for_selector(SYNCED, state="attached")
        expect(alice.locator(ROWS)).to_have_count(6)

    def test_a_held_message_is_shown_to_its_author_only(self):
        off_the_event_loop(banned_word_add, word="knockoff", added_by=None)
        alice = self.visit(self.alice)
        bob = self.visit(self.bob)
        self.say(alice, "Genuine knockoff watches, cheap")
        held = self.row(alice, "Genuine knockoff")
        held.wait_for()
        alice.wait_for_function(
            "() => document.querySelector('[data-chat-list] li.held .msg-held:not([hidden])')"
        )
        assert "held for review" in held.inner_text()
        screenshot(alice, "stall-room-held")
        self.say(alice, "Anyway, nice lamps")
        self.row(bob, "nice lamps").wait_for()
        self.row(alice, "nice lamps").wait_for()
        assert "knockoff" not in bob.locator("[data-chat-log]").inner_text()
        assert "held" not in self.row(alice, "nice lamps").get_attribute("class")
        held_row = off_the_event_loop(
            ChatMessage.objects.get, text="Genuine knockoff watches, cheap"
        )
        assert held_row.status == ChatMessage.Status.HELD

        # After a reload the author still sees it held (from the history), Bob still not.
        for page in (alice, bob):
            page.reload()
            page.wait_for_selector(SYNCED, state="attached")
            self.row(page, "nice lamps").wait_for()
        self.row(alice, "Genuine knockoff").wait_for()
        assert "held" in self.row(alice, "Genuine knockoff").get_attribute("class")
        bob.wait_for_timeout(300)
        assert "knockoff" not in bob.locator("[data-chat-log]").inner_text()

    def test_an_error_is_shown_inline_and_a_muted_user_cannot_write(self):
        alice = self.visit(self.alice, watch=True)
        too_long = "x" * 501
        alice.locator("[data-composer-text]").fill(too_long)
        assert alice.locator("[data-composer-count]").inner_text() == "501/500"
        alice.locator("[data-composer-text]").press("Enter")
        assert "at most 500 characters" in alice.locator("[data-composer-error]").inner_text()
        assert alice.locator("[data-chat-pending] li").count() == 0
        # The server's refusal (here: six messages in ten seconds) shows in the row.
        for number in range(6):
            self.say(alice, f"quick {number}")
        failed = alice.locator("[data-chat-pending] li.failed")
        failed.wait_for()
        assert "Slow down" in failed.inner_text()
        assert alice.locator("[data-composer-text]").input_value() == "quick 5"
        screenshot(alice, "stall-room-refused")
        # Muted during the visit: the server says so (its broadcast is delivered here).
        reason = "You are muted in this stall until 14:05 UTC: spamming."
        alice.evaluate("(m) => window.__deliver({type: 'restricted', message: m})", reason)
        assert alice.locator("[data-composer-restriction]").inner_text() == reason
        assert alice.locator("[data-composer-text]").is_disabled()
        assert alice.locator("[data-composer-send]").is_disabled()

        def mute():
            steward = verified_user("steward")
            role_grant(user=steward, role=Role.STEWARD)
            return steward, sanction_impose(
                user=self.bob,
                kind=ChatSanction.Kind.MUTE,
                reason="shouting",
                stall=self.stall,
                duration=timedelta(hours=1),
                imposed_by=steward,
            )

        steward, sanction = off_the_event_loop(mute)
        bob = self.visit(self.bob, watch=True)
        restriction = bob.locator("[data-composer-restriction]")
        restriction.wait_for()
        assert re.match(
            r"You are muted in this stall until .+: shouting\.", restriction.inner_text()
        )
        assert bob.locator("[data-composer-text]").is_disabled()
        assert bob.locator("[data-composer-send]").is_disabled()
        screenshot(bob, "stall-room-muted")
        # Lifted while Bob is here (the consumer's frame, tested in test_room_consumer, is
        # delivered here as the server would): the composer opens without a reload.
        off_the_event_loop(lambda: sanction_lift(sanction=sanction, lifted_by=steward))
        bob.evaluate("() => window.__deliver({type: 'unrestricted'})")
        restriction.wait_for(state="hidden")
        assert bob.locator("[data-composer-text]").is_enabled()

    def test_a_banned_user_is_told_and_not_reconnected(self):
        def ban():
            steward = verified_user("steward")
            role_grant(user=steward, role=Role.STEWARD)
            sanction_impose(
                user=self.bob,
                kind=ChatSanction.Kind.BAN,
                reason="scamming buyers",
                stall=None,
                duration=None,
                imposed_by=steward,
            )

        off_the_event_loop(ban)
        bob = self.visit(self.bob, synced=False, watch=True)
        status = bob.locator("[data-room-status][data-state=error]")
        status.wait_for()
        expected = "You are banned from chatting in the market: scamming buyers."
        assert status.inner_text() == expected
        assert bob.locator("[data-composer-restriction]").inner_text() == expected
        assert bob.locator("[data-composer-text]").is_disabled()
        bob.wait_for_timeout(1500)
        assert bob.evaluate("window.__sockets.length") == 1

    def test_at_suggests_handles_of_visitors_and_recent_authors(self):
        off_the_event_loop(_chat_history, self.stall, 3)
        alice = self.visit(self.alice)
        self.visit(self.bob)
        alice.wait_for_function(
            "() => document.querySelectorAll('[data-room-visitors] .visitor').length === 2"
        )
        box = alice.locator("[data-composer-text]")
        options = alice.locator("[data-mention-options] [role=option]")
        box.press_sequentially("Ask @t")
        expect(options).to_have_text(["@talker00"])
        screenshot(alice, "stall-room-mentions")
        box.press("Tab")
        assert box.input_value() == "Ask @talker00 "
        box.press_sequentially("and @")
        expect(options).to_have_text(["@bob", "@talker00"])  # visitors first; never me
        box.press("ArrowDown")
        box.press("ArrowUp")
        box.press("ArrowUp")
        assert options.nth(1).get_attribute("aria-selected") == "true"
        box.press("Escape")
        expect(options).to_have_count(0)
        box.press("Backspace")
        box.press_sequentially("@B")
        expect(options).to_have_text(["@bob"])
        box.press("Enter")  # takes the suggestion, does not send
        assert box.input_value() == "Ask @talker00 and @bob "
        assert alice.locator("[data-chat-pending] li").count() == 0
        box.press("Enter")
        self.row(alice, "Ask @talker00 and @bob").wait_for()
        assert box.input_value() == ""

    def test_a_guest_watches_and_is_asked_to_log_in(self):
        guest = self.visit()
        link = guest.locator("[data-chat-login]")
        assert link.inner_text() == "Log in to chat"
        assert link.get_attribute("href") == f"/accounts/login/?next={self.path}"
        assert guest.locator("[data-composer]").count() == 0
        guest.wait_for_function(
            "() => document.querySelector('[data-room-count]').textContent === '1 here · 1 guest'"
        )
        alice = self.visit(self.alice)
        self.say(alice, "Anyone there?")
        self.row(guest, "Anyone there?").wait_for()
        guest.wait_for_function(
            "() => document.querySelector('[data-room-count]').textContent === '2 here · 1 guest'"
        )
        # A guest's pointer is not sent.
        self.point(guest, 0.5, 0.5)
        alice.wait_for_timeout(400)
        assert alice.locator(".room-cursor").count() == 0

    def test_touch_devices_send_no_cursor(self):
        alice = self.visit(self.alice, viewport=PHONE, has_touch=True, is_mobile=True)
        bob = self.visit(self.bob)
        self.point(alice, 0.5, 0.3)
        bob.wait_for_timeout(400)
        assert bob.locator(".room-cursor").count() == 0

    def test_clicking_an_item_opens_its_drawer(self):
        page = self.visit()
        card = page.locator(".item-card", has_text="Green shade")
        link = card.locator("a.item-link")
        card_id = card.get_attribute("id")
        # Without JavaScript (or in a new tab) the card opens the item's own page.
        assert link.get_attribute("href") == f"/items/{card_id.removeprefix('item-')}/"
        link.click()
        drawer = page.locator("#item-drawer.open")
        drawer.locator("h2", has_text="Green shade").wait_for()
        assert "A green shade in working order." in drawer.inner_text()
        assert page.url.endswith(f"#{card_id}")
        # The drawer is fixed to the viewport: a full-page capture would misplace it.
        page.wait_for_timeout(300)  # its slide-in
        page.screenshot(path=str(SCREENSHOTS / "stall-room-drawer-desktop.png"))
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SCREENSHOTS / "stall-room-drawer-phone.png"))
        page.set_viewport_size(DESKTOP)
        page.keyboard.press("Escape")
        page.wait_for_selector("#item-drawer.open", state="detached")
        assert not page.url.endswith(f"#{card_id}")
        page.locator(".item-card", has_text="Brass lamp").locator("a.item-link").click()
        drawer.locator("h2", has_text="Brass lamp").wait_for()
        drawer.locator("[data-drawer-close]").click()
        page.wait_for_selector("#item-drawer.open", state="detached")
        # A shared address with the item opens it.
        page.goto(f"{self.live_server_url}{self.path}#{card_id}")
        page.locator("#item-drawer.open h2", has_text="Green shade").wait_for()

    def test_scrolling_up_loads_older_messages(self):
        off_the_event_loop(_chat_history, self.stall, 70)
        page = self.visit(self.alice)
        bob = self.visit(self.bob)
        self.row(page, "message 70").wait_for()
        texts = page.locator(f"{ROWS} .msg-text").all_text_contents()
        assert texts[0] == "message 21" and texts[-1] == "message 70" and len(texts) == 50
        log = page.locator("[data-chat-log]")
        from_bottom = "l => l.scrollHeight - l.scrollTop - l.clientHeight"
        assert log.evaluate(from_bottom) < 50
        top_row = self.row(page, "message 21")
        log.evaluate("l => { l.scrollTop = 0 }")
        self.row(page, re.compile(r"^message 1$")).wait_for()
        texts = page.locator(f"{ROWS} .msg-text").all_text_contents()
        assert texts == [f"message {n}" for n in range(1, 71)]
        # The row that was at the top stays where it was: the older ones are above it.
        assert log.evaluate("l => l.scrollTop") > 100
        offset = top_row.evaluate(
            "r => r.getBoundingClientRect().top - r.closest('[data-chat-log]')"
            ".getBoundingClientRect().top"
        )
        assert -60 < offset < 120
        page.wait_for_function(
            "() => document.querySelector('[data-chat-older-status]').textContent.includes('start')"
        )

        # Someone speaks while Alice reads old messages: she stays put, a pill says so.
        reading_at = log.evaluate("l => l.scrollTop")
        self.say(bob, "something new")
        self.row(page, "something new").wait_for(state="attached")
        pill = page.locator("[data-chat-new]")
        pill.wait_for()
        assert abs(log.evaluate("l => l.scrollTop") - reading_at) < 2
        pill.click()
        page.wait_for_function(
            f"() => (({from_bottom})(document.querySelector('[data-chat-log]'))) < 50"
        )
        expect(pill).to_be_hidden()

    def test_yjs_applies_pycrdt_updates_in_any_order(self):
        updates, expected = off_the_event_loop(_pycrdt_updates)
        page = self.visit()
        result = page.evaluate(
            """(updates) => {
                const { Y } = window.BazaarY;
                const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const inOrder = new Y.Doc();
                for (const u of updates) Y.applyUpdate(inOrder, bytes(u));
                const reversed = new Y.Doc();
                const pendingAlong = [];
                for (const u of [...updates].reverse()) {
                    Y.applyUpdate(reversed, bytes(u));
                    pendingAlong.push(reversed.store.pendingStructs !== null);
                }
                const json = (doc) => ({
                    chat: doc.getArray('chat').toJSON(),
                    offers: doc.getArray('offers').toJSON(),
                    presence: doc.getMap('presence').toJSON(),
                });
                return {
                    inOrder: json(inOrder),
                    reversed: json(reversed),
                    pendingAlong,
                    pendingAtEnd: reversed.store.pendingStructs !== null
                        || reversed.store.pendingDs !== null,
                };
            }""",
            [base64.b64encode(update).decode() for update in updates],
        )
        assert result["inOrder"] == expected
        assert result["reversed"] == expected
        assert [entry["id"] for entry in expected["chat"]] == ["01A", "01B", "01C"]
        assert expected["presence"] == {
            "U-alice": {"id": "U-alice", "handle": "alice", "seller": True}
        }
        assert any(result["pendingAlong"]), "Y.js held early updates back until it could apply them"
        assert not result["pendingAtEnd"]

    def test_screenshots_of_the_room_at_desktop_and_phone_width(self):
        off_the_event_loop(_chat_history, self.stall, 12)
        alice = self.visit(self.alice)
        bob = self.visit(self.bob)
        self.say(alice, "Hi @bob! The brass lamp is lovely, does it come with a bulb?")
        self.row(bob, "brass lamp is lovely").wait_for()
        self.say(bob, "It does, and the shade fits the green one too.")
        self.row(alice, "shade fits").wait_for()
        bob.wait_for_function(
            "() => document.querySelectorAll('[data-room-visitors] .visitor').length === 2"
        )
        for label, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
            bob.set_viewport_size(viewport)
            self.point(alice, 0.42, 0.35)
            self.cursor_arrives(bob, "alice", 0.42, 0.35)
            screenshot(bob, f"stall-room-{label}")
        overflow = bob.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the stall room scrolls sideways on a phone"
        # The chat is below the stall on a phone, beside it on a desktop.
        room = bob.locator("#stall-room").bounding_box()
        area = bob.locator("#stall-area").bounding_box()
        assert room["y"] >= area["y"] + area["height"] - 1
        bob.set_viewport_size(DESKTOP)
        room = bob.locator("#stall-room").bounding_box()
        area = bob.locator("#stall-area").bounding_box()
        assert room["x"] >= area["x"] + area["width"]
