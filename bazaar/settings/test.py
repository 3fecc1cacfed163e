"""Tests: Celery runs eagerly; REDIS_URL (as in CI) switches to channels-redis."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

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
# Tests serve static files from the apps' folders; nothing is collected.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# No media server unless a test sets one up (shows tests override these).
SHOWS_MEDIA = ""
