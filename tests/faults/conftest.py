"""Fixtures of the fault tests: servers of their own, a market database copied from the
test database (migrated once by pytest-django), the market's processes on them.

Every test here needs PostgreSQL's server binaries and redis-server on this machine,
and the test database on PostgreSQL (its schema is copied); without them it skips
with the reason, or fails under BAZAAR_REQUIRE_SERVICES=1 (tests/conftest.py `need`).
"""

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import need
from tests.faults import stack

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def fault_postgres(django_db_setup, django_db_blocker):
    """A throwaway PostgreSQL cluster holding `template`, a copy of the test database."""
    bin_dir = stack.postgres_bin()
    need(bin_dir is not None, "needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)")
    source = connection.settings_dict
    need(
        source["ENGINE"] == "django.db.backends.postgresql",
        "needs the test database on PostgreSQL (DATABASE_URL=postgres://…) to copy its schema",
    )
    need(stack.port_free(stack.POSTGRES_PORT), f"port {stack.POSTGRES_PORT} is taken")
    postgres = stack.Postgres(bin_dir)
    try:
        postgres.start()
        source_url = (
            f"postgres://{source['USER'] or 'postgres'}@{source['HOST'] or '127.0.0.1'}:"
            f"{source['PORT'] or 5432}/{source['NAME']}"
        )
        postgres.load_dump(source_url, "template")
        yield postgres
    finally:
        postgres.stop()


@pytest.fixture(scope="session")
def fault_redis():
    need(shutil.which("redis-server") is not None, "needs redis-server on PATH")
    need(stack.port_free(stack.REDIS_PORT), f"port {stack.REDIS_PORT} is taken")
    redis = stack.Redis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="bazaar-faults-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def market_env(fault_postgres, fault_redis, workdir):
    """A fresh market database (from the template) and Redis database for one test:
    the environment the market's processes get."""
    number = next(_databases)
    name = f"market_{number}"
    fault_postgres.execute("postgres", f'CREATE DATABASE "{name}" TEMPLATE template')
    env = stack.server_env(
        database_url=fault_postgres.url(name),
        redis_url=fault_redis.url(number),
        media_root=workdir / "media",
    )
    yield env
    fault_postgres.resume()
    fault_postgres.execute("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dump_logs(workdir: Path) -> str:
    """The ends of the servers' logs, for a failing assertion's message."""
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
        for log in sorted(workdir.glob("*.log"))
    )
