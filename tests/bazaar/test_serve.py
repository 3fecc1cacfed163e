"""The launcher that runs several server processes on one listening socket."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bazaar.serve import WEBSOCKET_PING_SECONDS, check_workers, daphne_command, default_server


def test_more_than_one_worker_needs_redis():
    check_workers(1, "")
    check_workers(4, "redis://127.0.0.1:6379/0")
    with pytest.raises(SystemExit, match="More than one worker needs REDIS_URL"):
        check_workers(2, "")
    with pytest.raises(SystemExit, match="at least 1"):
        check_workers(0, "redis://127.0.0.1:6379/0")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def launcher(require_redis):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bazaar.serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60  # two servers' start-up on a busy machine
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("the launcher did not start serving within 60 s")
            time.sleep(0.2)
    yield process, port
    if process.poll() is None:
        process.kill()


def test_workers_share_one_port_and_stop_together(launcher):
    process, port = launcher
    workers = _children(process.pid)
    assert len(workers) == 2
    for _ in range(10):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5) as reply:
            assert reply.read() == b"ok"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert not any(_alive(pid) for pid in workers)


def test_a_worker_that_dies_is_started_again_while_the_other_serves(launcher):
    process, port = launcher
    first, second = _children(process.pid)
    os.kill(first, signal.SIGKILL)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5) as reply:
        assert reply.read() == b"ok"
    deadline = time.monotonic() + 60  # two servers' start-up on a busy machine
    workers = _children(process.pid)
    while (first in workers or len(workers) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = _children(process.pid)
    assert second in workers and first not in workers and len(workers) == 2
    assert process.poll() is None


def test_killing_the_launcher_outright_takes_its_workers_with_it(launcher):
    process, _ = launcher
    workers = _children(process.pid)
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def test_production_serves_with_uvicorn_unless_told_otherwise():
    assert default_server({"DJANGO_SETTINGS_MODULE": "bazaar.settings.production"}) == "uvicorn"
    assert default_server({"DJANGO_SETTINGS_MODULE": "bazaar.settings.local"}) == "daphne"
    assert default_server({}) == "daphne"
    production = {"DJANGO_SETTINGS_MODULE": "bazaar.settings.production", "WEB_SERVER": "daphne"}
    assert default_server(production) == "daphne"


def _descendants(pid: int) -> list[int]:
    children = _children(pid)
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def test_gunicorn_with_uvicorn_workers_serves_pages_and_sockets_and_stops(require_redis):
    """`--server uvicorn`: gunicorn runs the workers (websockets-sansio, no lifespan),
    HTTP and WebSockets both answer without a log line each, and a stop takes every
    process down."""
    import asyncio

    from websockets.asyncio.client import connect

    port = _free_port()
    command = [sys.executable, "-m", "bazaar.serve", "--server", "uvicorn", "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as r:
                    assert r.read() == b"ok"
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not start serving within 30 s")
                time.sleep(0.2)
        [gunicorn] = _children(process.pid)
        assert len(_children(gunicorn)) == 2

        async def read_only_answer() -> str:
            origin = f"http://127.0.0.1:{port}"
            async with connect(f"ws://127.0.0.1:{port}/ws/market/", origin=origin) as socket:
                await socket.send('{"hello": 1}')
                # The market's heat-map pulse may come first: read on to the answer.
                async with asyncio.timeout(10):
                    while '"read_only"' not in (frame := await socket.recv()):
                        pass
                return frame

        assert '"read_only"' in asyncio.run(read_only_answer())
        everyone = _descendants(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    logged = process.stderr.read()
    assert b"lifespan" not in logged.lower()
    assert b"[accepted]" not in logged  # no line per socket (session joins)
    assert not any(_alive(pid) for pid in everyone)


def test_both_servers_ping_a_socket_only_after_a_minute_of_silence():
    """The pages' own heartbeats keep sockets live; the server's keepalive ping is only
    for a peer gone silently (20 s by default in both servers: 500 frames a second
    each way at 10,000 auction sockets)."""
    from bazaar.workers import BazaarUvicornWorker

    command = daphne_command(argparse.Namespace(websocket_connect_timeout=20), 3)
    assert command[command.index("--ping-interval") + 1] == str(WEBSOCKET_PING_SECONDS) == "60"
    assert BazaarUvicornWorker.CONFIG_KWARGS["ws_ping_interval"] == WEBSOCKET_PING_SECONDS
