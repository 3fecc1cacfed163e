"""loadtest/marketday.py runs end to end, tiny: it starts the stack (two web
processes, a Celery worker and beat) on a fresh PostgreSQL database and the Redis
database two above the tests' own (pytest-xdist takes the base and the next), runs
its sellers, shoppers and idle sockets for 20 s, and reports with the history check
passing. It takes a minute or two (migrating the fresh database is most of it)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from bench._servers import postgres_database

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("marketday")]


def _server_url() -> str:
    """The maintenance database of the tests' PostgreSQL server."""
    db = settings.DATABASES["default"]
    where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER'] or 'postgres'}@{where}/postgres"


def _redis_two_up(url: str) -> str:
    """The suite's base Redis database plus two: clear of both xdist workers'."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + 2
    return urlunsplit(parts._replace(path=f"/{number}"))


def test_a_tiny_market_day_reports_and_its_history_checks(
    require_postgres, require_redis, tmp_path
):
    with postgres_database(_server_url(), f"test_marketday_{os.getpid()}") as database_url:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "DJANGO"))
        }
        env.update(DATABASE_URL=database_url, REDIS_URL=_redis_two_up(os.environ["REDIS_URL"]))
        command = [
            sys.executable, "loadtest/marketday.py", "--sellers", "2", "--shoppers", "4",
            "--idle", "10", "--time", "20", "--auction-seconds", "30", "--settle", "5",
            "--min-completed", "0", "--out", str(tmp_path),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    history = report["history"]
    assert history["ok"], history["violations"]
    assert sum(history["checked"].values()) > 0
    assert report["locust"]["total"]["requests"] > 0
    assert report["idle"]["connected"] == 10 and report["idle"]["kb_per_socket"] is not None
    assert report["exit"]["joined"]["sellers"] == 2
    assert done.returncode == (0 if report["exit"]["met"] else 1)
    assert (tmp_path / "history.jsonl").exists()
