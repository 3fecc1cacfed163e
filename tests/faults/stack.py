"""The servers a fault test starts, owns and breaks: a throwaway PostgreSQL cluster, a
Redis of its own, the market's web processes (`bazaar.serve`) and a Celery worker.

Nothing here touches the shared PostgreSQL or Redis: faults (SIGSTOP, SIGKILL, a
restart) go only to processes started here. Ports come from PORTS (8600-8699, this
suite's range on the shared machine).
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench._servers import stop as stop_process

ROOT = Path(__file__).resolve().parent.parent.parent
PORTS = range(8600, 8700)
# Every fault test: needs PostgreSQL (django_db: the test database is set up, to copy
# its schema), and the fault tests run together on one worker.
FAULT_TEST = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.xdist_group("faults"),
]
# Each pytest-xdist worker starts its own cluster and Redis (session fixtures): the
# second worker's sit 20 ports up, clear of the first's and of the tests' web ports.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
POSTGRES_PORT = 8601 + 20 * _WORKER
REDIS_PORT = 8602 + 20 * _WORKER


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian's layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    return Path(found[-1]).parent if found else None


def _major(path: str) -> int:
    return int(Path(path).parent.parent.name)


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: as root, run them as `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for(ready, *, timeout: float, what: str, pause: float = 0.1) -> float:
    """Call `ready()` until it is true; seconds it took. Raises after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(Exception):
            if ready():
                return time.monotonic() - started
        time.sleep(pause)
    raise TimeoutError(f"{what} not within {timeout:.0f} s")


class Postgres:
    """A PostgreSQL cluster in a temporary directory, on `port`, trust auth, no fsync."""

    def __init__(self, bin_dir: Path, port: int = POSTGRES_PORT):
        self.bin_dir = bin_dir
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="bazaar-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        if not self.data.exists():
            initdb = [str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres"]
            self._run([*initdb, "--auth=trust", "-N", "-E", "UTF8"])
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        self._run([*pg_ctl, "-o", options, "-w", "-t", "60", "start"])

    def stop(self) -> None:
        self.resume()
        pg_ctl = [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate"]
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run([*pg_ctl, "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """The postmaster first, then every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def pause(self) -> None:
        """SIGSTOP the whole server: the postmaster first, so it starts no one new."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for pid in reversed(self.pids()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def execute(self, database: str, sql: str, params=()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def load_dump(self, source_url: str, database: str) -> None:
        """A copy of the database at `source_url` (schema and rows) as `database` here."""
        self.execute("postgres", f'CREATE DATABASE "{database}"')
        dump = subprocess.run(
            [str(self.bin_dir / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            capture_output=True,
            check=True,
        )
        subprocess.run(
            [str(self.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(database)],
            input=dump.stdout,
            capture_output=True,
            check=True,
        )

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(_as_postgres(command), capture_output=True, text=True, cwd="/")
        if done.returncode:
            raise subprocess.CalledProcessError(
                done.returncode, command, done.stdout, done.stderr + self._log_tail()
            )

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


class Redis:
    """redis-server on `port`, keeping nothing on disk (a restart starts empty)."""

    def __init__(self, port: int = REDIS_PORT):
        self.port = port
        self.process: subprocess.Popen | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> float:
        """Start and wait until it answers PING; seconds it took."""
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--databases", "32"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd="/tmp")
        return wait_for(self.ping, timeout=20, what=f"redis on {self.port}")

    def ping(self) -> bool:
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1)
        try:
            return client.ping()
        finally:
            client.close()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.kill()


def server_env(*, database_url: str, redis_url: str, media_root: Path) -> dict[str, str]:
    """The environment of the market's processes under test: local settings with DEBUG
    on (static files from the sources), no demo auctions, our own services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bazaar.settings.local",
        DJANGO_DEBUG="true",
        BAZAAR_DEMO_MARKET="0",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MEDIA_ROOT=str(media_root),
        PYTHONUNBUFFERED="1",
    )
    return env


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@contextmanager
def web(
    env: dict[str, str], *, port: int, workers: int, log: Path, server: str = "daphne"
) -> Iterator[subprocess.Popen]:
    """`python -m bazaar.serve` (`server`'s processes on one socket) until the block
    exits, up once /healthz/ answers on every worker's behalf (any of them may take it)."""
    if not port_free(port):
        raise RuntimeError(f"port {port} is taken: another run of tests/faults?")
    command = [sys.executable, "-m", "bazaar.serve", "--server", server]
    command += ["--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: healthy(port), timeout=120, what=f"the web server on {port}", pause=0.3)
        yield process
    finally:
        stop_process(process)


def healthy(port: int, timeout: float = 5) -> bool:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz/")
        return connection.getresponse().status == 200
    finally:
        connection.close()


@contextmanager
def celery_worker(env: dict[str, str], *, log: Path) -> Iterator[subprocess.Popen]:
    process = start_celery_worker(env, log=log)
    try:
        yield process
    finally:
        stop_process(process)


def start_celery_worker(env: dict[str, str], *, log: Path) -> subprocess.Popen:
    """One worker process (solo pool: the task runs in the process a SIGKILL hits)."""
    command = [sys.executable, "-m", "celery", "-A", "bazaar", "worker", "--pool", "solo"]
    command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def established_on(pid: int, port: int) -> int:
    """How many connections to local `port` process `pid` holds open (Linux /proc):
    which web worker the clients landed on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count
