"""Shared fixtures: people, a small market, and the rule for tests that need services.

Tests that need PostgreSQL, Redis or a browser skip with a reason when those are
absent, and fail instead when BAZAAR_REQUIRE_SERVICES=1 (as CI sets).
"""

import gc
import os
import shutil
import threading
import types
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.services import user_create
from bazaar.ids import new_ulid
from market.services import sections_ensure
from stalls.services import item_create, seller_register, stall_create

from .second_step import SignedInClient

REQUIRE_SERVICES = os.environ.get("BAZAAR_REQUIRE_SERVICES") == "1"

# Property-based tests: a capped profile keeps the suite's time predictable; set
# HYPOTHESIS_PROFILE=thorough to search harder on a quiet machine.
hypothesis_settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile("thorough", max_examples=1000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def need(condition: bool, reason: str) -> None:
    """Skip (or, in CI, fail) a test whose service is missing."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"BAZAAR_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def require_postgres():
    need(
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://…",
    )


@pytest.fixture
def require_redis():
    need(bool(settings.REDIS_URL), "needs Redis: set REDIS_URL=redis://…")


@pytest.fixture
def chromium_path():
    path = os.environ.get("BAZAAR_CHROMIUM", "/usr/bin/chromium")
    need(shutil.which(path) is not None, f"needs Debian's chromium at {path}")
    return path


@pytest.fixture
def client():
    """pytest-django's client, with a role holder's `force_login` past the second step
    (tests/second_step.py)."""
    return SignedInClient()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with empty caches (layout, section cards, roles), no
    in-memory document replicas, nobody in the live crowd or the stall rooms and no
    buffered analytics events: a rolled-back test database reuses row ids, which
    a live database never does."""
    from analytics.crowd import crowd
    from analytics.recording import buffer
    from auctions.services import bid_batch
    from stalls.room import document, visitors

    def clean():
        cache.clear()
        bid_batch._pace.recent.clear()
        document._replicas.clear()
        document._fresh_positions.clear()
        document.positions().clear()
        crowd().clear()
        buffer().clear()
        visitors.registry().clear()

    clean()
    yield
    clean()


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(handle: str | None = None, **kwargs):
        number = next(counter)
        handle = handle or f"user{number}"
        return user_create(
            handle=handle,
            email=kwargs.pop("email", f"{handle.lower()}@example.com"),
            password=kwargs.pop("password", "correct-horse-battery"),
            verified=kwargs.pop("verified", True),
        )

    return make


@pytest.fixture
def market(db):
    """A 3x3 market, sections 0..2 x 0..2."""
    sections_ensure(coordinates=[(x, y) for x in range(3) for y in range(3)])


@pytest.fixture
def make_stall(make_user, market):
    def make(handle: str | None = None, *, x: int = 0, y: int = 0, slot: int = 0, name=None):
        user = make_user(handle)
        seller_register(user=user, legal_name=f"{user.handle} Legal", country="US")
        return stall_create(
            user=user,
            name=name or f"{user.handle}'s stall",
            description="Fine **things**.",
            section_x=x,
            section_y=y,
            slot=slot,
        )

    return make


@pytest.fixture
def stall(make_stall):
    return make_stall("seller")


def new_item(
    stall, *, title="Brass lamp", price_cents=2500, inventory=1, description="", **catalog
):
    """An item for sale in `stall`, added by its seller in the market's currency, with
    any catalog fields given (category, condition, brand, size)."""
    return item_create(
        actor=stall.seller.user,
        stall=stall,
        title=title,
        description=description,
        price_cents=price_cents,
        currency=settings.MARKET_CURRENCY,
        inventory=inventory,
        **catalog,
    )


@pytest.fixture
def make_item():
    return new_item


def jpeg_bytes(size=(64, 48), colour=(200, 120, 40)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def new_photo(stall, item=None, *, jpeg: bytes | None = None):
    """A real, processed photo attached through the service, as an upload would be."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from stalls.images import process_upload
    from stalls.services import photo_add

    upload = SimpleUploadedFile("p.jpg", jpeg or jpeg_bytes(), content_type="image/jpeg")
    return photo_add(
        actor=stall.seller.user, stall=stall, item=item, processed=process_upload(upload)
    )


@pytest.fixture
def make_photo():
    return new_photo


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (emails, money moves) as a real commit would."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def cache_reads_counted(monkeypatch):
    """`cache_reads_counted()`: from then on, the keys of every cache read, one list a round trip:
    `cache.get_many`, and a read ahead sent with waiting writes in one pipeline (on
    Redis: `bazaar.cache.writes_with_next_read`)."""
    from django.core.cache import cache

    import bazaar.cache as kept

    def start() -> list[list[str]]:
        reads: list[list[str]] = []
        get_many, send = cache.get_many, kept._send
        monkeypatch.setattr(cache, "get_many", lambda keys: reads.append(keys) or get_many(keys))
        monkeypatch.setattr(
            kept, "_send", lambda writes, keys: (keys and reads.append(keys)) or send(writes, keys)
        )
        return reads

    return start


@pytest.fixture
def key():
    """A fresh idempotency key per call, as each rendered form carries."""
    return new_ulid


def race(*calls) -> list:
    """Start the calls at the same moment, each in its own thread and database
    connection (PostgreSQL race tests); returns what each returned or raised, in order."""
    start = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            start.wait()
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@contextmanager
def cyclic_garbage():
    """What ran inside left in reference cycles (only the collector frees those, in
    pauses that grow with them): the objects, filled in when the block ends."""
    gc.collect()
    gc.disable()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list = []
    try:
        yield found
    finally:
        gc.collect()
        found += gc.garbage
        gc.garbage.clear()
        gc.set_debug(flags)
        gc.enable()


def frames_of(garbage: list, path: str) -> list[str]:
    """The frames among `garbage` of code whose file path holds `path`."""
    return [
        f"{item.f_code.co_filename}:{item.f_code.co_name}"
        for item in garbage
        if isinstance(item, types.FrameType) and path in item.f_code.co_filename
    ]


def unbatched(frame: dict) -> list[dict]:
    """A socket frame's frames: a `batch` (bazaar.fanout) unpacked, any other alone."""
    return frame["frames"] if frame["type"] == "batch" else [frame]


@pytest.fixture
def steward(make_user):
    """A user with the steward role (and so the admin)."""
    from governance.models import Role
    from governance.services import role_grant

    user = make_user("steward")
    role_grant(user=user, role=Role.STEWARD)
    return user


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`--dist loadgroup`) the browser tests share one worker, one at
    a time: two chromiums and their live servers on two cores would race each other's
    timeouts, while the other worker takes the rest of the suite. It runs first: xdist's
    own hook turns the group marks into node ids."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
