"""Serve the market with several daphne processes sharing one listening socket.

    python -m bazaar.serve --host 127.0.0.1 --port 8000 --workers 2

One daphne process runs Python on one core at a time (profiles: Django's views and
daphne's per-frame write path, not the database, set its limit), so a machine with
more cores runs one process per core. This launcher binds the socket once and hands
it to each child (`daphne --fd`); the kernel spreads new connections across them.
Processes share state only through the database and Redis, so more than one worker
needs `REDIS_URL` (the in-memory channel layer cannot reach another process).
"""

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

ASGI_APP = "bazaar.asgi:application"
STOP_GRACE_SECONDS = 10
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def check_workers(workers: int, redis_url: str) -> None:
    if workers < 1:
        raise SystemExit("--workers must be at least 1.")
    if workers > 1 and not redis_url:
        raise SystemExit(
            "More than one worker needs REDIS_URL: without Redis the channel layer lives "
            "in one process, and sockets on the others would miss its broadcasts."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--websocket-connect-timeout", type=int, default=20)
    args = parser.parse_args(argv)
    check_workers(args.workers, os.environ.get("REDIS_URL", ""))

    sock = listening_socket(args.host, args.port, args.backlog)
    command = [
        sys.executable,
        "-m",
        "daphne",
        "--fd",
        str(sock.fileno()),
        "--websocket_connect_timeout",
        str(args.websocket_connect_timeout),
        ASGI_APP,
    ]
    children = [
        subprocess.Popen(  # noqa: S603 - our own argv
            command, pass_fds=[sock.fileno()], preexec_fn=_die_with_parent
        )
        for _ in range(args.workers)
    ]
    sock.close()

    asked_to_stop = []

    def stop(signum, frame):
        asked_to_stop.append(signum)
        _terminate(children)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The first child to exit ends the service: a half-sized server hides trouble.
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    codes = _stop_all(children)
    if not asked_to_stop:
        return next((code for code in codes if code), 1)
    # Stopping on request: a child still starting up dies of the signal itself.
    return next((code for code in codes if code not in (0, -signal.SIGTERM)), 0)


def _terminate(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)


def _stop_all(children: list[subprocess.Popen]) -> list[int]:
    """SIGTERM, then SIGKILL what has not exited after the grace period: a daphne
    whose shutdown waits on a stuck connection must not outlive the service."""
    _terminate(children)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return [child.wait() for child in children]


def _die_with_parent() -> None:
    """In each child, before daphne starts: if the launcher is killed outright, the
    kernel kills its children too (Linux), so none is left serving the socket."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
