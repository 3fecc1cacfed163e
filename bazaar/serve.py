"""Serve the market with several server processes sharing one listening socket.

    python -m bazaar.serve --host 127.0.0.1 --port 8000 --workers 2
    python -m bazaar.serve --server uvicorn --workers 2   # gunicorn with uvicorn workers

One server process runs Python on one core at a time (profiles: Django's views and
the per-frame write path, not the database, set its limit), so a machine with more
cores runs one process per core. Processes share state only through the database and
Redis, so more than one worker needs `REDIS_URL` (the in-memory channel layer cannot
reach another process).

Two servers (`--server`, default `$WEB_SERVER`, else uvicorn under the production
settings and daphne elsewhere; docs/decisions.md has the figures):
- daphne: this launcher binds the socket once and hands it to each daphne child
  (`daphne --fd`); the kernel spreads new connections across them. A worker that dies
  is started again on the same socket while the others serve (`bazaar.supervise`).
- uvicorn: gunicorn binds the socket and runs the workers
  (`bazaar.workers.BazaarUvicornWorker`), starting again any that dies; this launcher
  supervises gunicorn itself.
"""

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from bazaar.metrics import prepare_multiprocess_dir
from bazaar.supervise import Child, Supervisor, log_to_stderr

ASGI_APP = "bazaar.asgi:application"
# The server's keepalive ping to a socket (daphne's and uvicorn's default is 20 s). The
# pages beat on their own (the stall room every 10-50 s), which keeps a socket live and
# proves its peer; the server's ping only finds a peer gone silently, and at 20 s it was
# 500 frames a second each way at 10,000 auction sockets. Both servers ping only a
# socket silent that long (uvicorn: bazaar.workers, where an auction's socket, whose
# page writes every 5 minutes, is pinged after that long more and kept warm meanwhile).
WEBSOCKET_PING_SECONDS = 60
SERVERS = ("daphne", "uvicorn")
PRODUCTION_SETTINGS = "bazaar.settings.production"
VAR_DIR = Path(__file__).resolve().parent.parent / "var"


def default_server(environ: dict[str, str]) -> str:
    """`WEB_SERVER` if set, else uvicorn in production and daphne elsewhere."""
    if environ.get("WEB_SERVER"):
        return environ["WEB_SERVER"]
    production = environ.get("DJANGO_SETTINGS_MODULE") == PRODUCTION_SETTINGS
    return "uvicorn" if production else "daphne"


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


def refuse_if_undeployable() -> None:
    """Production settings with a deploy error stop here, once, with the reasons
    (`bazaar.deploy`), instead of each worker dying and being started again. A child
    process, so this launcher stays small: it only holds the socket."""
    result = subprocess.run([sys.executable, "-m", "bazaar.deploy"], check=False)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def gunicorn_command(args: argparse.Namespace) -> list[str]:
    """gunicorn with `--workers` uvicorn workers on host:port. Its own timeouts: a
    worker silent for 30 s is replaced; on a stop, sockets get 10 s to finish. An idle
    keep-alive connection stays open 75 s, longer than a load balancer's idle timeout
    (60 s on the common ones), so the balancer never sends on a connection the server
    is closing (gunicorn's 2 s default would; daphne closes none)."""
    host = f"[{args.host}]" if ":" in args.host else args.host
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "bazaar.workers.BazaarUvicornWorker",
        "--workers",
        str(args.workers),
        "--bind",
        f"{host}:{args.port}",
        "--backlog",
        str(args.backlog),
        "--graceful-timeout",
        "10",
        "--keep-alive",
        "75",
        "--config",
        "python:bazaar.workers",
        ASGI_APP,
    ]


def daphne_command(args: argparse.Namespace, fd: int) -> list[str]:
    """One daphne worker serving the listening socket `fd`."""
    return [
        sys.executable,
        "-m",
        "daphne",
        "--fd",
        str(fd),
        "--websocket_connect_timeout",
        str(args.websocket_connect_timeout),
        "--ping-interval",
        str(WEBSOCKET_PING_SECONDS),
        ASGI_APP,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=SERVERS, default=default_server(dict(os.environ)))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--websocket-connect-timeout", type=int, default=20)
    args = parser.parse_args(argv)
    check_workers(args.workers, os.environ.get("REDIS_URL", ""))
    refuse_if_undeployable()
    log_to_stderr()
    prepare_multiprocess_dir(VAR_DIR, os.environ)
    if args.server == "uvicorn":
        return Supervisor([Child(name="gunicorn", argv=gunicorn_command(args))]).run()

    # The socket stays open here, so a worker started again serves the same port.
    sock = listening_socket(args.host, args.port, args.backlog)
    command = daphne_command(args, sock.fileno())
    children = [
        Child(name=f"web worker {number}", argv=command, pass_fds=(sock.fileno(),))
        for number in range(1, args.workers + 1)
    ]
    return Supervisor(children).run()


if __name__ == "__main__":
    sys.exit(main())
