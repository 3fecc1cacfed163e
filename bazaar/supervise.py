"""Keep a service's processes running: one that dies is logged and started again.

Used by `bazaar.serve` (its daphne processes on one socket) and `bazaar.run` (what
`make run` starts: the web server and, with Redis, the Celery worker). A process
that exits on its own is started again after a pause that doubles while it keeps
dying (1 s up to 30 s), and the log says which process, its exit code and what
happens next; the others keep serving meanwhile. One that dies more than
CRASHES_ALLOWED times in CRASH_WINDOW seconds is broken, not unlucky: then the whole
service stops, with a non-zero code, rather than loop for ever. SIGTERM or SIGINT
stops every process: SIGTERM first, SIGKILL for what has not exited after
STOP_GRACE_SECONDS. Children die with the supervisor if it is killed outright (Linux).
"""

import ctypes
import logging
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from bazaar.metrics import process_gone

log = logging.getLogger("bazaar.supervise")

STOP_GRACE_SECONDS = 10
CRASHES_ALLOWED = 5
CRASH_WINDOW = 60.0
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass
class Child:
    """One process to keep running: a name for the log, its argv, fds it inherits."""

    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen | None = None
    deaths: deque = field(default_factory=deque)
    restart_at: float | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own argv
            self.argv, pass_fds=self.pass_fds, preexec_fn=_die_with_parent
        )
        self.restart_at = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.asked_to_stop: list[int] = []

    def run(self) -> int:
        """Start every child and keep them running until asked to stop (0) or one of
        them keeps dying (1)."""
        previous = {
            signum: signal.signal(signum, self._stop_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for child in self.children:
                child.start()
            while not self.asked_to_stop:
                if not self._tend(time.monotonic()):
                    self.stop_all()
                    return 1
                time.sleep(0.2)
            codes = self.stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        # Stopping on request: a child still starting up dies of the signal itself.
        return next((code for code in codes if code not in (0, -signal.SIGTERM)), 0)

    def _tend(self, now: float) -> bool:
        """Restart what died and is due; False when a child keeps dying."""
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                    log.warning("%s started again (pid %s)", child.name, child.process.pid)
                continue
            if child.running():
                continue
            code = child.process.returncode
            process_gone(child.process.pid)
            child.deaths.append(now)
            while child.deaths and child.deaths[0] < now - CRASH_WINDOW:
                child.deaths.popleft()
            if len(child.deaths) > CRASHES_ALLOWED:
                log.error(
                    "%s (pid %s) exited with code %s, its %s exit within %.0f s: "
                    "stopping the service",
                    child.name,
                    child.process.pid,
                    code,
                    _ordinal(len(child.deaths)),
                    CRASH_WINDOW,
                )
                return False
            pause = min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** (len(child.deaths) - 1))
            log.warning(
                "%s (pid %s) exited with code %s; the others keep serving; "
                "starting it again in %.0f s",
                child.name,
                child.process.pid,
                code,
                pause,
            )
            child.restart_at = now + pause
        return True

    def _stop_signal(self, signum, frame) -> None:
        self.asked_to_stop.append(signum)
        self._terminate()

    def _terminate(self) -> None:
        for child in self.children:
            if child.running():
                child.process.send_signal(signal.SIGTERM)

    def stop_all(self) -> list[int]:
        """SIGTERM, then SIGKILL what has not exited after the grace period: a process
        whose shutdown waits on a stuck connection must not outlive the service."""
        self._terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
        return [child.process.wait() for child in self.children if child.process is not None]


def log_to_stderr() -> None:
    """The supervisor's lines beside its children's output, marked as its own."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s [supervisor] %(message)s"
    )


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10 if number % 100 not in (11, 12, 13) else 0)
    return f"{number}{suffix or 'th'}"


def _die_with_parent() -> None:
    """In each child, before it starts: if the supervisor is killed outright, the
    kernel kills its children too (Linux), so none is left serving."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
