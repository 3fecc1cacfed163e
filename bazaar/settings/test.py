"""Tests: Celery runs eagerly; REDIS_URL (as in CI) switches to channels-redis."""

import os
from urllib.parse import urlsplit, urlunsplit

# Under pytest-xdist each worker gets a Redis database of its own, counting up from the
# one REDIS_URL names: every test clears the cache, which must not empty a neighbour's.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker and os.environ.get("REDIS_URL"):
    _redis = urlsplit(os.environ["REDIS_URL"])
    _database = int(_redis.path.strip("/") or 0) + int(_xdist_worker.removeprefix("gw"))
    os.environ["REDIS_URL"] = urlunsplit(_redis._replace(path=f"/{_database}"))

from .base import *  # noqa: E402, F403
from .base import DATABASES, VAR_DIR  # noqa: E402

SECRET_KEY = "test-only-secret-key-not-for-any-deployment-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Background work runs eagerly, on commit, in the test's own thread; the embedded
# runner's tests start it explicitly.
JOBS_BACKEND = "celery"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT = None
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One test database per test run, so that two runs on one machine never share it
# (and Channels' live server refuses an in-memory SQLite database: a file it is).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_bazaar_{os.getpid()}"}
    # A loaded CI machine is slow, not down: tests wait for the database as long as
    # it takes (tests/faults check the bounds on servers of their own).
    DATABASES["default"]["OPTIONS"]["pool"]["timeout"] = 30
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = 30
DATABASE_WAIT_SECONDS = None
# Tests serve static files from the apps' folders; nothing is collected.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# No media server unless a test sets one up (shows tests override these).
SHOWS_MEDIA = ""
# Tests bid at machine speed, far past any person's pace: the limit has its own tests.
BID_PACE = None
