"""The launcher that runs several daphne processes on one listening socket."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from bazaar.serve import check_workers


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
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail("the launcher did not start serving within 20 s")
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
    deadline = time.monotonic() + 20
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
