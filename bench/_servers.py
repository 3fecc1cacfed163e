"""Shared by the benchmarks: throwaway databases and what is seeded in them (markets,
signed-in users), and servers (daphne, or gunicorn with uvicorn workers: `SERVERS`)
that are always stopped.

Everything runs in subprocesses with the environment built by `server_env`, so a
benchmark never touches the developer's var/bazaar.sqlite3 or var/media.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench._clients import Client

ROOT = Path(__file__).resolve().parent.parent
ASGI_APP = "bazaar.asgi:application"
# The web servers a bench can start (`--server`, bench._cli.add_server): as bazaar.serve.
SERVERS = ("daphne", "uvicorn")
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


def migrate(env: dict[str, str]) -> None:
    manage("migrate", "--noinput", "-v0", env=env)


def seed(
    *, env: dict[str, str], sections: int, stalls: int, items_per_stall: int | None = None
) -> None:
    """Migrate and lay out the demo market (idempotent, so reruns only fill gaps);
    `items_per_stall` on new stalls, else seed_market's default."""
    migrate(env)
    items = ["--items-per-stall", str(items_per_stall)] if items_per_stall else []
    manage("seed_market", "--sections", str(sections), "--stalls", str(stalls), *items, env=env)


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


def bench_database_name(tag: str = "") -> str:
    """A database name of this run's own (<prefix>_<tag>_<pid>), so that benches run
    at the same time on one server never meet. The prefix is $BENCH_DATABASE_PREFIX
    ("bazaar_bench"): sessions sharing a server keep to the names they were given."""
    prefix = os.environ.get("BENCH_DATABASE_PREFIX", "bazaar_bench")
    return f"{prefix}_{tag}_{os.getpid()}" if tag else f"{prefix}_{os.getpid()}"


@contextmanager
def bench_database(postgres: str | None, tag: str, workdir: Path) -> Iterator[str]:
    """A fresh PostgreSQL database on the server `postgres` (dropped on exit), or without
    one a SQLite file in `workdir`; yields its URL."""
    if postgres:
        with postgres_database(postgres, bench_database_name(tag)) as url:
            yield url
    else:
        (workdir / "db").mkdir(exist_ok=True)
        yield f"sqlite:///{workdir / 'db' / 'bench.sqlite3'}"


@contextmanager
def scratch_dir(prefix: str, *, keep: bool = False) -> Iterator[Path]:
    """A temporary directory for a run's database, media and server logs; with `keep`,
    left behind (and named on stderr) for a look afterwards."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"keeping the database and server logs in {path}", file=sys.stderr, flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def clear_redis_cache(redis_url: str) -> int:
    """Delete Django's cache keys from Redis, the shared cache a restart does not empty."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=CACHE_KEY_PATTERN, count=1000))
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


@contextmanager
def redis_cache_cleared(env: dict[str, str]) -> Iterator[str]:
    """With REDIS_URL in `env`, Django's cache keys deleted from it before the block and
    after it (a developer's server sharing that Redis must not keep the benchmark
    database's ids); yields the cache's name for the report."""
    redis_url = env.get("REDIS_URL", "")
    if redis_url:
        clear_redis_cache(redis_url)
    try:
        yield "Redis cache" if redis_url else "locmem cache"
    finally:
        if redis_url:
            clear_redis_cache(redis_url)


def free_port() -> int:
    """A port nothing listens on now (another process could still take it): the OS picks
    it, or the first free one of $BENCH_PORTS ("8200-8299") where sessions share a host."""
    low, _, high = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port in BENCH_PORTS={os.environ['BENCH_PORTS']}")


def poll_until(ready, processes: list[subprocess.Popen], timeout: float, pause: float) -> bool:
    """Call `ready()` until it is true (True) or `timeout` passes (False); an OSError or
    HTTP error counts as not yet, a dead process of `processes` raises at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:4]} exited with code {process.returncode}")
        try:
            ready()
            return True
        except (OSError, http.client.HTTPException):
            time.sleep(pause)
    return False


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll /healthz/ until it answers 200; fail fast if the server process died. (Two
    server processes took 27 s to start on the shared machine at load 20.)"""

    def healthy() -> None:
        with Client(base_url) as client:
            client.get("/healthz/")

    if not poll_until(healthy, [process], timeout, pause=0.1):
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
def daphne(*, env: dict[str, str], log_path: Path, server: str = "daphne") -> Iterator[str]:
    """Serve the ASGI app on a free port until the block exits; yields the base URL.

    The server gets its own session, so a Ctrl-C reaches only the benchmark, whose
    exit stops the server here. Its output goes to `log_path`, quoted on failure.
    """
    with daphne_process(env=env, log_path=log_path, server=server) as (base_url, _):
        yield base_url


_static_collected = False


def collect_static(env: dict[str, str]) -> None:
    """Collect the static files once per benchmark: with DEBUG off, as in production,
    pages name their hashed static files from the manifest collectstatic writes."""
    global _static_collected
    if not _static_collected:
        manage("collectstatic", "--noinput", "-v0", env=env)
        _static_collected = True


def server_command(server: str, port: int, processes: int) -> list[str]:
    """How a bench starts `server` on 127.0.0.1:`port`: one daphne directly, else the
    project's launcher (`bazaar.serve`), which runs `processes` daphne processes on one
    socket or gunicorn with that many uvicorn workers, as production does."""
    if server == "daphne" and processes == 1:
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), ASGI_APP]
    command = [sys.executable, "-m", "bazaar.serve", "--server", server, "--host", "127.0.0.1"]
    return [*command, "--port", str(port), "--workers", str(processes)]


@contextmanager
def daphne_process(
    *, env: dict[str, str], log_path: Path, processes: int = 1, server: str = "daphne"
) -> Iterator[tuple[str, subprocess.Popen]]:
    """The web server (`server`: daphne or uvicorn), yielding the process too (for its
    pid: CPU time, see `cpu_seconds`, which counts a launcher's children).

    With `processes` > 1 the project's launcher runs that many server processes on one
    socket, as a machine with that many cores would (needs REDIS_URL).
    """
    collect_static(env)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = server_command(server, port, processes)
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


@contextmanager
def celery_worker(*, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A Celery worker as the Procfile runs one (prefork, two children), on the broker in
    `env`'s REDIS_URL, its queue emptied first: jobs a bench queued with no worker
    running would otherwise be run now, for databases already dropped. Stopped on exit."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        queues = list(client.scan_iter(match="celery*", count=1000))
        if queues:
            client.delete(*queues)
    finally:
        client.close()
    command = [sys.executable, "-m", "celery", "-A", "bazaar", "worker", "--concurrency", "2"]
    command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the Celery worker did not start; its log ends:\n{tail}")
            time.sleep(0.2)
        yield process
    finally:
        stop(process)


# Stall-room benchmarks: signed-in visitors, stalls, a baseline server, CPU time.

_SIGN_IN_SCRIPT = """
import json, sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.seeding import users_create_many
from accounts.views import AUTH_BACKEND
prefix, count = sys.argv[1], int(sys.argv[2])
users = users_create_many(handles=[f"{prefix}{n}" for n in range(count)], password=sys.argv[3])
store = import_module(settings.SESSION_ENGINE).SessionStore
keys = []
for handle in sorted(users, key=lambda h: int(h[len(prefix):])):
    user = users[handle]
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = AUTH_BACKEND  # what the site's log-in stores
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


def django_json(code: str, *args: str, env: dict[str, str]):
    """`django_script` for a script whose last line of output is JSON: that, decoded."""
    return json.loads(django_script(code, *args, env=env).strip().splitlines()[-1])


_READY_TO_PAY_SCRIPT = """
import json, sys
import django
django.setup()
from accounts.models import User
from bazaar.idempotency import new_key
from orders.checkout.services import shipping_address_save
from orders.models import SavedCard, ShippingAddress
from orders.payments.services import card_setup_start
from orders.payments.test_gateway import CARD_OK, TestGateway
from orders.payments.webhooks import event_handle
users = User.objects.filter(handle__in=json.loads(sys.argv[1]))
have_card = set(SavedCard.objects.exclude(payment_method_id="").values_list("buyer_id", flat=True))
have_address = set(ShippingAddress.objects.values_list("buyer_id", flat=True))
gateway = TestGateway()
for user in users:
    if user.pk not in have_card:
        url = card_setup_start(buyer=user, idempotency_key=new_key(), base_url="http://bench")
        event = gateway.session_complete(session_id=url.rstrip("/").rsplit("/", 1)[-1],
                                         card_number=CARD_OK)
        event_handle(event=event, gateway_name="test")
    if user.pk not in have_address:
        shipping_address_save(buyer=user, name=user.handle, line1="1 Bench Row", line2="",
                              city="Springfield", postal_code="12345", country="US")
print(json.dumps({"card": CARD_OK}))
"""


def buyers_ready_to_pay(*, env: dict[str, str], handles: list[str]) -> str:
    """A saved card (through the test gateway's setup session, as the card page saves
    one) and a shipping address for each of these users who lacks one, so they can bid
    and check out; returns the test card number that pays."""
    return django_json(_READY_TO_PAY_SCRIPT, json.dumps(handles), env=env)["card"]


def signed_in_sessions(*, env: dict[str, str], prefix: str, count: int) -> tuple[str, list[str]]:
    """`count` verified users named prefix0, prefix1, … each with a session, as a login
    would leave it: (session cookie name, session keys in user order)."""
    answer = django_json(_SIGN_IN_SCRIPT, prefix, str(count), "bench-only-password", env=env)
    return answer["cookie"], answer["sessions"]


def stall_public_ids(*, env: dict[str, str]) -> list[str]:
    return django_json(_STALLS_SCRIPT, env=env)


def clear_room_keys(redis_url: str, stall_ids: list[str]) -> int:
    """Delete the stall-room registry keys (stalls/room/visitors.py) of these stalls only."""
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
    """Wait until something listens on `port`; fail fast if the server process died."""

    def listening() -> None:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    if not poll_until(listening, [process], timeout, pause=0.05):
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


def serving_pid(pid: int) -> int:
    """The process that answers requests under the server process `pid`: itself for a
    lone daphne, the worker for the launcher's one-worker gunicorn (launcher, gunicorn,
    worker: the only child at each level)."""
    while children := Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if len(children) > 1:
            raise RuntimeError(f"process {pid} has {len(children)} children, not one worker")
        pid = int(children[0])
    return pid


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


@contextmanager
def celery_process(role: str, *, env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """The Procfile's Celery `role` ("worker" or "beat") for the block, in its own session
    (stopped like a server); its output goes to `log_path`."""
    command = [sys.executable, "-m", "celery", "-A", "bazaar", role, "--loglevel", "WARNING"]
    if role == "worker":
        command += ["--concurrency", "2", "--without-gossip", "--without-mingle"]
    else:
        command += ["--schedule", str(log_path.with_suffix(".schedule"))]
    with logged_process(command, env=env, log_path=log_path) as process:
        yield process


@contextmanager
def logged_process(
    command: list[str], *, env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen]:
    """`command` running for the block in its own session (stopped like a server), its
    output appended to `log_path`."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)
