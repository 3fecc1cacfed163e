"""Production settings: secrets must come from the environment; check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    environment.update(DJANGO_SETTINGS_MODULE="bazaar.settings.production", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="bazaar.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_passes_the_deployment_checklist():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        DJANGO_ALLOWED_HOSTS="bazaar.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def site_url(**env) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SITE_URL", "HOST", "PORT", "DJANGO_SETTINGS_MODULE")
    }
    environment.update(DJANGO_SETTINGS_MODULE="bazaar.settings.local", **env)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SITE_URL)"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_links_in_emails_follow_where_make_run_serves():
    assert site_url() == "http://127.0.0.1:8000"
    assert site_url(PORT="8123") == "http://127.0.0.1:8123"
    assert site_url(HOST="0.0.0.0", PORT="9000") == "http://127.0.0.1:9000"  # noqa: S104
    assert site_url(HOST="::1") == "http://[::1]:8000"
    assert site_url(SITE_URL="https://bazaar.example", PORT="8123") == "https://bazaar.example"
