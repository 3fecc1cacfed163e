"""Browser-test harness: Playwright driving Debian's chromium against Channels' live
daphne server. Playwright's sync API runs an event loop in this thread, so Django's
async-safety check must be relaxed here, and only here."""

import asyncio
import os
import time
from pathlib import Path

import pytest
from channels.testing import ChannelsLiveServerTestCase
from daphne.testing import DaphneProcess
from django.db import OperationalError, connections
from django.test import override_settings

from tests.second_step import pass_second_step

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# A page whose stall socket never opens (a proxy that drops WebSockets): the forms post.
NO_SOCKET = """
    window.WebSocket = class { constructor() { this.readyState = 0; } send() {} close() {} };
"""

# Records the page's sockets and lets a test hand it a frame as if the server sent it.
WATCH_SOCKETS = """
    window.__sockets = [];
    window.__binaryIn = [];
    window.__binaryOut = 0;
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            // The page's own sockets; the top bar's bell (/ws/notices/) is not the page's.
            if (!String(args[0]).endsWith('/ws/notices/')) window.__sockets.push(this);
            this.addEventListener('message', (e) => {
                if (typeof e.data !== 'string') window.__binaryIn.push(e.data.byteLength);
            });
        }
        send(data) {
            if (typeof data !== 'string') window.__binaryOut += 1;
            super.send(data);
        }
    };
    // A frame as if the server had sent it on the page's current socket.
    window.__deliver = (frame) => window.__sockets.at(-1).dispatchEvent(
        new MessageEvent('message', {data: JSON.stringify(frame)}));
"""


@pytest.fixture(scope="module")
def browser(request):
    from tests.conftest import need

    chromium = os.environ.get("BAZAAR_CHROMIUM", "/usr/bin/chromium")
    need(os.path.exists(chromium), f"needs Debian's chromium at {chromium}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    # Playwright leaves its closed event loop as the thread's current loop; the
    # async tests that run later need a fresh one.
    asyncio.set_event_loop(asyncio.new_event_loop())


def screenshot(page, name: str) -> Path:
    """Keep what a person sees, to be looked at (var/screenshots is not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def off_the_event_loop(function, *args, **kwargs):
    """Run Django code that publishes (async_to_sync) in a plain thread: Playwright's
    sync API keeps an event loop running in the test's own thread."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class DaphneWithoutInheritedConnections(DaphneProcess):
    """The live server is a fork of the test process: a database connection open at
    fork time would be shared by both processes, which SQLite answers with "disk I/O
    error" and PostgreSQL with hangs. Close them first; each process then opens its own."""

    def start(self):
        connections.close_all()
        # psycopg's pool keeps its own open connections: a fork would share those
        # sockets too (seen as hangs and crashes on PostgreSQL), so close the pool.
        for connection in connections.all():
            if getattr(connection, "pool", None) is not None:
                connection.close_pool()
        super().start()

    def run(self):
        from concurrent.futures import ThreadPoolExecutor

        from asgiref.sync import SyncToAsync

        # The fork copied the test process's one-thread executor for database calls,
        # but not its thread: after an async test had used it, every database call in
        # the server would wait for ever.
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
        super().run()


def shared_cache_settings() -> dict:
    """The live server is another process: with the default per-process memory cache
    the tests could not clear what it cached between tests. A file cache (or Redis,
    when REDIS_URL is set) is shared by both."""
    from django.conf import settings

    if settings.REDIS_URL:
        return {}
    location = SCREENSHOTS.parent / f"test-cache-{os.getpid()}"
    return {
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(location),
            }
        }
    }


def session_key_for(user) -> str:
    """A signed-in session stored in the database, as logging in would leave it; its
    key goes into a browser's cookie jar or a raw socket's Cookie header."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if user.is_staff:
        pass_second_step(session, user)
    session.save()
    return session.session_key


def sign_in(context, user, url: str) -> None:
    """Sign a Playwright browser context in as `user` on the live server at `url`."""
    from django.conf import settings

    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_key_for(user), "url": url}]
    )


def stall_and_talker(stall_name: str) -> tuple[str, str]:
    """A one-section market with one stall, and a signed-in visitor's session key."""
    from accounts.services import user_create
    from market.services import sections_ensure
    from stalls.services import seller_register, stall_create

    sections_ensure(coordinates=[(0, 0)])
    seller = user_create(
        handle="seller", email="s@example.com", password="pw-1234567", verified=True
    )
    seller_register(user=seller, legal_name="Seller", country="US")
    stall = stall_create(
        user=seller, name=stall_name, description="", section_x=0, section_y=0, slot=0
    )
    talker = user_create(
        handle="talker", email="t@example.com", password="pw-1234567", verified=True
    )
    return stall.public_id, session_key_for(talker)


# Shared set-up for the browser tests: people, stalls, items with photos, and a live
# server test case whose browser contexts are signed in and closed for you.


def verified_user(handle: str):
    """A verified account `<handle>@example.com` with a known password."""
    from accounts.services import user_create

    return user_create(
        handle=handle, email=f"{handle}@example.com", password="pw-12345678", verified=True
    )


def seller_stall(
    *, handle: str, legal_name: str, name: str, description: str = "", x=0, y=0, slot=0
):
    """A new registered seller's stall at section `x`/`y` (which must exist)."""
    from stalls.services import seller_register, stall_create

    seller = verified_user(handle)
    seller_register(user=seller, legal_name=legal_name, country="US")
    return stall_create(
        user=seller, name=name, description=description, section_x=x, section_y=y, slot=slot
    )


def item_with_photo(
    *, stall, title: str, description: str, price_cents: int, inventory: int, colour
):
    """An item for sale in `stall` with one plain-coloured photo."""
    from tests.conftest import jpeg_bytes, new_item, new_photo

    item = new_item(
        stall, title=title, description=description, price_cents=price_cents, inventory=inventory
    )
    new_photo(stall, item, jpeg=jpeg_bytes((400, 300), colour))
    return item


def until_the_room_is_empty(stall_id: int) -> None:
    """After the browsers closed: the server writes each departure into the stall
    document; let it finish (5 s at most) before the test database is flushed under it."""
    from stalls.room.document import document_presence

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and off_the_event_loop(document_presence, stall_id=stall_id):
        time.sleep(0.05)


def lamp_stall(*, description: str):
    """Kim Keeper's "Brass & Lamps" alone in section 0/0, with one brass lamp and one
    green shade at $25, each with a photo. Returns the stall and its two items."""
    from market.services import sections_ensure

    sections_ensure(coordinates=[(0, 0)])
    stall = seller_stall(
        handle="keeper", legal_name="Kim Keeper", name="Brass & Lamps", description=description
    )
    items = [
        item_with_photo(
            stall=stall,
            title=title,
            description=f"A {title.lower()} in working order.",
            price_cents=2500,
            inventory=1,
            colour=colour,
        )
        for title, colour in [("Brass lamp", (190, 140, 50)), ("Green shade", (60, 130, 80))]
    ]
    return stall, items


def _caused_by_a_deadlock(error: BaseException) -> bool:
    """Whether PostgreSQL's deadlock report is anywhere in the chain: the flush
    command wraps the database's error in a CommandError of its own."""
    while error is not None:
        if isinstance(error, OperationalError) and "deadlock" in str(error):
            return True
        error = error.__cause__
    return False


@override_settings(**shared_cache_settings())
class BrowserTestCase(ChannelsLiveServerTestCase):
    """A live daphne server and the module's browser. Pages from `new_page` each get a
    browser context of their own, closed when the test ends. Whatever the pages do,
    the Content-Security-Policy must allow it: a refusal the browser reports fails the
    test (bazaar.csp)."""

    host = "127.0.0.1"
    ProtocolServerProcess = DaphneWithoutInheritedConnections

    @pytest.fixture(autouse=True)
    def _browser(self, browser):
        self.browser = browser

    def setUp(self):
        super().setUp()
        self.contexts = []
        self.csp_refusals: list[str] = []

    def tearDown(self):
        for context in self.contexts:
            context.close()
        super().tearDown()
        assert not self.csp_refusals, "\n".join(self.csp_refusals)

    def _note_csp_refusal(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp_refusals.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def _fixture_teardown(self):
        """The flush truncates every table while the live server may still be writing
        what a closing page sent (a departure, a show's ending beacon). PostgreSQL
        breaks such a deadlock by failing one side; when that is the flush, it rolled
        back whole, and goes again once the server's write is done."""
        for attempt in range(5):
            try:
                return super()._fixture_teardown()
            except Exception as error:
                if not _caused_by_a_deadlock(error) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def new_page(self, user=None, viewport=DESKTOP, **context_options):
        """A page in a fresh context, signed in as `user` (None: a guest)."""
        from django.conf import settings

        context = self.browser.new_context(viewport=viewport, **context_options)
        context.on("console", self._note_csp_refusal)
        self.contexts.append(context)
        if user is not None:
            key = off_the_event_loop(session_key_for, user)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": self.live_server_url}]
            )
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page
