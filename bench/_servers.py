"""Shared by the benchmarks: throwaway databases, daphne servers that are always stopped,
and a keep-alive HTTP client that times each request.

Everything runs in subprocesses with the environment built by `server_env`, so a
benchmark never touches the developer's var/bazaar.sqlite3 or var/media.
"""

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

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
    """SIGTERM, then SIGKILL if the server has not exited within 10 s; then whatever
    is left of its session (servers start in their own, so a launcher's workers go
    too)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def daphne(*, env: dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the ASGI app on a free port until the block exits; yields the base URL.

    The server gets its own session, so a Ctrl-C reaches only the benchmark, whose
    exit stops the server here. Its output goes to `log_path`, quoted on failure.
    """
    with daphne_process(env=env, log_path=log_path) as (base_url, _):
        yield base_url


_static_collected = False


def collect_static(env: dict[str, str]) -> None:
    """Collect the static files once per benchmark: with DEBUG off, as in production,
    pages name their hashed static files from the manifest collectstatic writes."""
    global _static_collected
    if not _static_collected:
        manage("collectstatic", "--noinput", "-v0", env=env)
        _static_collected = True


@contextmanager
def daphne_process(
    *, env: dict[str, str], log_path: Path, processes: int = 1
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`daphne`, yielding the process too (for its pid: CPU time, see `cpu_seconds`).

    With `processes` > 1 the project's launcher (`bazaar.serve`) runs that many daphne
    processes on one socket, as a machine with that many cores would (needs REDIS_URL).
    """
    collect_static(env)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP]
    if processes > 1:
        command = [sys.executable, "-m", "bazaar.serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--workers", str(processes)]
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
        yield base_url, process
    finally:
        stop(process)


def bench_arguments(
    argv: list[str] | None, *, description: str, url_help: str, rounds: int, rounds_help: str
) -> argparse.Namespace:
    """A page benchmark's options: `--postgres URL` (also run there) or `--url` (a server
    already running), and `--rounds`."""
    parser = argparse.ArgumentParser(description=description)
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL"),
        metavar="URL",
        help="also run on PostgreSQL (a fresh database on this server, dropped at the end); "
        "default $BENCH_DATABASE_URL",
    )
    target.add_argument("--url", help=url_help)
    parser.add_argument("--rounds", type=int, default=rounds, help=rounds_help)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def run_bench(
    *,
    on_url: Callable[[str], dict],
    on_database: Callable[[str, str, Path], dict],
    url: str | None,
    postgres: str | None,
) -> int:
    """A page benchmark's main: measure the running server at `url`, or else SQLite in a
    temporary directory and then (with `postgres`) a fresh PostgreSQL database, dropped
    at the end. `on_database(name, database_url, workdir)` returns that run's figures.
    Prints the total time and, last, every figure as one line of JSON."""
    # SIGTERM unwinds like Ctrl-C, so servers are stopped and databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    results = {}
    try:
        if url:
            results["url"] = on_url(url.rstrip("/"))
        else:
            with tempfile.TemporaryDirectory(prefix="bazaar-bench-") as tmp:
                workdir = Path(tmp)
                sqlite_url = f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}"
                results["sqlite"] = on_database("sqlite", sqlite_url, workdir / "sqlite")
                if postgres:
                    name = f"bazaar_bench_{os.getpid()}"
                    with postgres_database(postgres, name) as postgres_url:
                        results["postgres"] = on_database(
                            "postgres", postgres_url, workdir / "postgres"
                        )
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    print(f"\ntotal {time.monotonic() - started:.1f} s")
    print(json.dumps(results))
    return 0


def percentiles_ms(seconds: list[float], digits: int = 1) -> dict:
    """n, p50, p95 (inclusive quantiles) and max of `seconds`, in milliseconds."""
    if not seconds:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p95 = (
        statistics.quantiles(seconds, n=20, method="inclusive")[-1]
        if len(seconds) > 1
        else seconds[0]
    )
    return {
        "n": len(seconds),
        "p50": round(statistics.median(seconds) * 1000, digits),
        "p95": round(p95 * 1000, digits),
        "max": round(max(seconds) * 1000, digits),
    }


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


class AsyncHttp:
    """One keep-alive HTTP/1.1 connection for one signed-in client's form POSTs, on
    asyncio streams so thousands of clients share one event loop."""

    def __init__(self, base_url: str, cookie: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.csrf = secrets.token_hex(16)  # 32 characters: Django takes it as the secret
        self.cookie = f"{cookie}; csrftoken={self.csrf}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """POST `form` asking for JSON; (status, body), the body whole even if chunked."""
        body = urlencode(form).encode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie}\r\nX-CSRFToken: {self.csrf}\r\n"
            f"Accept: application/json\r\n{extra}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        status = int(status_line.split()[1])
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readline()).strip(), 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()
        await self.reader.readline()
        return status, b"".join(parts)

    async def post_json(self, path: str, form: dict[str, str]) -> dict:
        """`post`, raising unless 200; the decoded answer."""
        status, body = await self.post(path, form)
        if status != 200:
            raise RuntimeError(f"POST {path} answered {status}: {body[:200]!r}")
        return json.loads(body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# Stall-room benchmarks: signed-in visitors, stalls, a baseline server, CPU time.

_SIGN_IN_SCRIPT = """
import json, sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.seeding import users_create_many
prefix, count = sys.argv[1], int(sys.argv[2])
users = users_create_many(handles=[f"{prefix}{n}" for n in range(count)], password=sys.argv[3])
store = import_module(settings.SESSION_ENGINE).SessionStore
keys = []
for handle in sorted(users, key=lambda h: int(h[len(prefix):])):
    user = users[handle]
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    keys.append(session.session_key)
print(json.dumps({"cookie": settings.SESSION_COOKIE_NAME, "sessions": keys}))
"""

_STALLS_SCRIPT = """
import json
import django
django.setup()
from stalls.models import Stall
print(json.dumps(list(Stall.objects.order_by("id").values_list("public_id", flat=True))))
"""


def django_script(code: str, *args: str, env: dict[str, str]) -> str:
    """Run `code` with Django set up as the benchmark server is; returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise RuntimeError(f"a Django script failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def signed_in_sessions(*, env: dict[str, str], prefix: str, count: int) -> tuple[str, list[str]]:
    """`count` verified users named prefix0, prefix1, … each with a session, as a login
    would leave it: (session cookie name, session keys in user order)."""
    import json

    out = django_script(_SIGN_IN_SCRIPT, prefix, str(count), "bench-only-password", env=env)
    answer = json.loads(out.strip().splitlines()[-1])
    return answer["cookie"], answer["sessions"]


def stall_public_ids(*, env: dict[str, str]) -> list[str]:
    import json

    return json.loads(django_script(_STALLS_SCRIPT, env=env).strip().splitlines()[-1])


def clear_room_keys(redis_url: str, stall_ids: list[str]) -> int:
    """Delete the stall-room registry keys (stalls/room.py) of these stalls only."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = [
            key
            for stall in stall_ids
            for key in client.scan_iter(match=f"bazaar:room:{stall}:*", count=1000)
        ]
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f} s")


@contextmanager
def ws_baseline(*, log_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """bench/_ws_baseline.py on a free port until the block exits: (ws:// URL, process)."""
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "_ws_baseline.py"), "--port", str(port)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, process)
        yield f"ws://127.0.0.1:{port}", process
    finally:
        stop(process)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its children have used so far (Linux
    /proc; children count while they run, so a launcher's daphne processes do)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


def raise_open_files(wanted: int) -> int:
    """Lift the soft RLIMIT_NOFILE towards `wanted` (capped by the hard limit); children
    started afterwards inherit it. Returns the new soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(soft, wanted if hard == resource.RLIM_INFINITY else min(wanted, hard))
    if target != soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target
