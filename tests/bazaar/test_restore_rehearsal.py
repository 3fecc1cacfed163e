"""The backup rehearsal restores what was there, and notices when it did not."""

import importlib.util
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from accounts.services import user_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_spec = importlib.util.spec_from_file_location(
    "restore_rehearsal",
    Path(__file__).resolve().parents[2] / "deploy" / "restore_rehearsal.py",
)
rehearsal = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rehearsal)


def database_url() -> str:
    database = settings.DATABASES["default"]
    user = database["USER"] or "postgres"
    return (
        f"postgres://{user}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/{connection.settings_dict['NAME']}"
    )


def test_a_backup_restores_every_row_and_sequence(require_postgres):
    for n in range(3):
        user_create(handle=f"rehearsed{n}", email=f"r{n}@example.com", password="pw-long-enough-1")

    report = rehearsal.rehearse(database_url(), jobs=2)

    assert report["ok"], report
    assert report["tables"] > 50
    assert report["rows"] >= 3
    assert report["restore_seconds"] > 0
    assert report["rto_projected_hours"] is not None


def test_a_restore_missing_rows_is_caught(require_postgres, monkeypatch):
    user_create(handle="kept", email="kept@example.com", password="pw-long-enough-1")
    honest_restore = rehearsal.restore

    def restore_then_lose_a_row(dump, url, jobs):
        seconds = honest_restore(dump, url, jobs)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM accounts_user WHERE handle = 'kept'")
        return seconds

    monkeypatch.setattr(rehearsal, "restore", restore_then_lose_a_row)

    report = rehearsal.rehearse(database_url())

    assert not report["ok"]
    assert "accounts_user" in report["tables_mismatched"]
