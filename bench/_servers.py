"""Shared by the benchmarks: throwaway databases, daphne servers that are always stopped,
and a keep-alive HTTP client that times each request.

Everything runs in subprocesses with the environment built by `server_env`, so a
benchmark never touches the developer's var/bazaar.sqlite3 or var/media.
"""

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
ASGI_APP = "bazaar.asgi:application"
# Django's keys for the cache: KEY_PREFIX "bazaar" (bazaar/settings/base.py), version 1.
# Matching only these leaves channel-layer and Celery keys in the same Redis DB alone.
CACHE_KEY_PATTERN = "bazaar:1:*"


def server_env(*, database_url: str, media_root: Path) -> dict[str, str]:
    """The caller's environment pointed at a benchmark database and media directory.

    DEBUG defaults to off (as in production: no query log kept per request) unless
    DJANGO_DEBUG is set; REDIS_URL passes through and switches cache and channel layer.
    """
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")
    env.setdefault("DJANGO_DEBUG", "false")
    env.update(DATABASE_URL=database_url, MEDIA_ROOT=str(media_root))
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    """Run a manage.py command; its output is shown only if it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def seed(*, env: dict[str, str], sections: int, stalls: int) -> None:
    """Migrate and lay out the demo market (idempotent, so reruns only fill gaps)."""
    manage("migrate", "--noinput", "-v0", env=env)
    manage("seed_market", "--sections", str(sections), "--stalls", str(stalls), env=env)


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def postgres_database(url: str, name: str) -> Iterator[str]:
    """A fresh database `name` on the server of `url`, dropped on exit; yields its URL.

    Created and dropped through the maintenance database "postgres", so `url` may
    name any database on that server.
    """
    import psycopg
    from psycopg import sql

    maintenance = _with_dbname(url, "postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(drop)
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_dbname(url, name)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(drop)


def clear_redis_cache(redis_url: str) -> int:
    """Delete Django's cache keys from Redis, the shared cache a restart does not empty."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=CACHE_KEY_PATTERN, count=1000))
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; another process could still take it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll /healthz/ until it answers 200; fail fast if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with Client(base_url) as client:
                client.get("/healthz/")
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {base_url}/healthz/ within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def daphne(*, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the ASGI app on a free port until the block exits; yields the base URL.

    The server gets its own session, so a Ctrl-C reaches only the benchmark, whose
    exit stops the server here. Its output goes to `log_path`, quoted on failure.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            wait_until_up(base_url, process)
        except RuntimeError as error:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{error}; its log ends:\n{tail}") from None
        yield base_url
    finally:
        stop(process)


@dataclass(frozen=True)
class Response:
    body: bytes
    seconds: float


class Client:
    """One keep-alive connection that keeps cookies, like a browser tab."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self.connection = connection_class(parts.hostname, parts.port, timeout=timeout)
        self.prefix = parts.path.rstrip("/")
        self.cookies: dict[str, str] = {}

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.connection.close()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        """GET `path` and read the whole body; times the round trip, raises unless 200."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        started = time.perf_counter()
        self.connection.request("GET", self.prefix + path, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}, expected 200")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value
        return Response(body=body, seconds=seconds)
