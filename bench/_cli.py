"""Shared by the benchmarks: their common options and the frame of their `main`.

Every benchmark runs with one command, stops its servers and drops its databases on
Ctrl-C or SIGTERM, prints its total time and ends with one line of JSON holding every
figure (what `bench_main` does around the benchmark's own run).
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._report import progress
from bench._servers import SERVERS, bench_database_name, postgres_database, server_env

DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n", 1)[0])


def add_redis(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=help or f"default {DEFAULT_REDIS}")


def add_server(parser: argparse.ArgumentParser, default: str = "daphne") -> None:
    """--server: the web server under test (daphne, or gunicorn with uvicorn workers)."""
    parser.add_argument(
        "--server", choices=SERVERS, default=default, help=f"web server (default {default})"
    )


def add_postgres_server(
    parser: argparse.ArgumentParser, *, env: str = "BENCH_DATABASE_URL", help: str | None = None
) -> None:
    """--postgres: the server a fresh database is made on (default $`env`, else local)."""
    parser.add_argument("--postgres", default=os.environ.get(env, DEFAULT_POSTGRES), help=help)


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
    add_server(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def bench_main(
    run: Callable[[float], dict],
    *,
    record_elapsed: bool = False,
    total_note: Callable[[dict], str] | None = None,
) -> int:
    """Run `run(started)` and close with the total time and its figures as one line of
    JSON (with `record_elapsed`, the total joins the figures as elapsed_s). SIGTERM
    unwinds like Ctrl-C, so servers are stopped and databases dropped; either ends
    the run with 130 and no figures."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    try:
        results = run(started)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    elapsed = round(time.monotonic() - started, 1)
    if record_elapsed:
        results["elapsed_s"] = elapsed
    note = total_note(results) if total_note else ""
    print(f"\ntotal {elapsed} s{note}")
    print(json.dumps(results))
    return 0


def run_bench(
    *,
    on_url: Callable[[str], dict],
    on_database: Callable[[str, dict[str, str], Path], dict],
    url: str | None,
    postgres: str | None,
) -> int:
    """A page benchmark's main: measure the running server at `url`, or else SQLite in a
    temporary directory and then (with `postgres`) a fresh PostgreSQL database, dropped
    at the end. `on_database(name, server environment, workdir)` returns that run's
    figures; the environment points the servers at that database and a media directory
    in `workdir`."""

    def on(name: str, database_url: str, workdir: Path) -> dict:
        workdir.mkdir()
        return on_database(
            name, server_env(database_url=database_url, media_root=workdir / "media"), workdir
        )

    def run(_started: float) -> dict:
        if url:
            return {"url": on_url(url.rstrip("/"))}
        results = {}
        with tempfile.TemporaryDirectory(prefix="bazaar-bench-") as tmp:
            workdir = Path(tmp)
            sqlite_url = f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}"
            results["sqlite"] = on("sqlite", sqlite_url, workdir / "sqlite")
            if postgres:
                with postgres_database(postgres, bench_database_name()) as postgres_url:
                    results["postgres"] = on("postgres", postgres_url, workdir / "postgres")
        return results

    return bench_main(run)
