"""What `make run` and `bazaar.serve` stand on: a process that dies is logged and
started again while the others keep running; one that keeps dying stops the service."""

import logging
import signal
import sys
import threading
import time

import pytest

from bazaar import run, supervise

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
FAILING = [sys.executable, "-c", "import sys; sys.exit(3)"]


@pytest.fixture(autouse=True)
def _quick(monkeypatch):
    monkeypatch.setattr(supervise, "FIRST_PAUSE", 0.05)
    monkeypatch.setattr(supervise, "STOP_GRACE_SECONDS", 5)


def tend_until(supervisor, condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert supervisor._tend(time.monotonic()), "the supervisor gave up"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_dead_process_is_started_again_and_the_others_keep_running(caplog):
    caplog.set_level(logging.WARNING, "bazaar.supervise")
    web, worker = supervise.Child("web", SLEEPER), supervise.Child("worker", SLEEPER)
    supervisor = supervise.Supervisor([web, worker])
    for child in (web, worker):
        child.start()
    try:
        web_pid, dead_pid = web.process.pid, worker.process.pid
        worker.process.send_signal(signal.SIGKILL)
        tend_until(supervisor, lambda: worker.running() and worker.process.pid != dead_pid)
        assert web.process.pid == web_pid and web.running()
        assert f"worker (pid {dead_pid}) exited with code -9; the others keep serving" in (
            caplog.text
        )
        assert "worker started again" in caplog.text
    finally:
        supervisor.stop_all()
    assert not web.running() and not worker.running()


def test_a_process_that_keeps_dying_stops_the_service(caplog):
    worker = supervise.Child("worker", FAILING)
    web = supervise.Child("web", SLEEPER)
    supervisor = supervise.Supervisor([web, worker])
    stopper = threading.Timer(20, lambda: supervisor._stop_signal(signal.SIGTERM, None))
    stopper.start()
    try:
        assert supervisor.run() == 1
    finally:
        stopper.cancel()
    assert "its 6th exit within 60 s: stopping the service" in caplog.text
    assert not web.running()


def test_make_run_starts_a_worker_only_beside_redis():
    assert [child.name for child in run.children({})] == ["web"]
    with_redis = run.children({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert [child.name for child in with_redis] == ["web", "worker"]
    assert with_redis[1].argv[1:7] == ["-m", "celery", "-A", "bazaar", "worker", "--beat"]


def test_make_run_starts_janus_when_installed_and_livekit_is_not_set():
    assert [child.name for child in run.children({}, "/usr/bin/janus")] == ["web", "janus"]
    janus = run.children({}, "/usr/bin/janus")[1]
    assert janus.argv[1:] == ["-m", "shows.media.janus_server"]
    with_redis = run.children({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "/usr/bin/janus")
    assert [child.name for child in with_redis] == ["web", "worker", "janus"]
    assert [c.name for c in run.children({"LIVEKIT_URL": "wss://lk"}, "/usr/bin/janus")] == ["web"]
    assert [c.name for c in run.children({"SHOWS_MEDIA": ""}, "/usr/bin/janus")] == ["web"]
