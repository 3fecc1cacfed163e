"""Run the two crowds of issue 22 against a running server, headless, with one command.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bazaar REDIS_URL=redis://127.0.0.1:6379/0 \\
    WEB_CONCURRENCY=2 .venv/bin/python -m bazaar.serve --port 8000 &      # the server
    DATABASE_URL=... REDIS_URL=... .venv/bin/python loadtest/run.py --host http://127.0.0.1:8000

With the same DATABASE_URL and REDIS_URL as the server (its database seeded: `manage.py
seed_market`), this signs in `--buyers` accounts (loadtest0, loadtest1, ...: created if
missing, sessions written as a login would), lists the market's stalls and items into a
fixtures file, then runs loadtest/locustfile.py headless for `--time`: `--walkers`
signed-out walkers and `--buyers` signed-in buyers, spawned at `--spawn-rate` a second.
It prints Locust's table, then per request name and in total: requests, failures,
req/s, p50 and p95 (ms); the last line is that as JSON. The load generator runs on this
machine: on a small one it takes CPU from the server, so say so beside the figures.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import django_json, signed_in_sessions  # noqa: E402

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"

# Every stall with its section and its items on sale (an item public id each).
_MARKET_SCRIPT = """
import json
import django
django.setup()
from stalls.models import Item, Stall
items = {}
for stall_id, public_id in Item.objects.filter(archived_at=None).values_list(
    "stall_id", "public_id"
):
    items.setdefault(stall_id, []).append(public_id)
stalls = [
    {"id": stall.public_id, "section": [stall.section.x, stall.section.y], "items": items[stall.pk]}
    for stall in Stall.objects.select_related("section").order_by("id")
    if stall.pk in items
]
print(json.dumps(stalls))
"""


def fixtures(env: dict[str, str], buyers: int) -> dict:
    """The market and `buyers` signed-in sessions, from the server's database."""
    stalls = django_json(_MARKET_SCRIPT, env=env)
    if not stalls:
        raise SystemExit("no stall with items: seed the market first (manage.py seed_market)")
    cookie, sessions = signed_in_sessions(env=env, prefix="loadtest", count=max(buyers, 1))
    return {"stalls": stalls, "cookie": cookie, "sessions": sessions}


def summary(stats_csv: Path) -> dict:
    """Locust's per-name rows and the aggregate: requests, failures, req/s, p50, p95, p99."""
    rows = {}
    with stats_csv.open() as source:
        for row in csv.DictReader(source):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
            }
    return {"total": rows.pop("Aggregated"), "requests": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", required=True, help="the running server, http://host:port")
    parser.add_argument("--walkers", type=int, default=200)
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--time", default="60s", help="how long to run (Locust's --run-time)")
    parser.add_argument("--spawn-rate", type=float, default=50.0, help="users started a second")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "bazaar.settings.local")
    with tempfile.TemporaryDirectory(prefix="bazaar-loadtest-") as tmp:
        fixtures_path = Path(tmp) / "fixtures.json"
        fixtures_path.write_text(json.dumps(fixtures(env, args.buyers)))
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", args.host.rstrip("/"), "--users", str(args.walkers + args.buyers),
            "--spawn-rate", str(args.spawn_rate), "--run-time", args.time,
            "--walkers", str(args.walkers), "--buyers", str(args.buyers),
            "--csv", str(Path(tmp) / "run"), "--only-summary", "--stop-timeout", "5",
        ]  # fmt: skip
        done = subprocess.run(command, env={**env, "LOADTEST_FIXTURES": str(fixtures_path)})
        result = summary(Path(tmp) / "run_stats.csv")
    result.update(walkers=args.walkers, buyers=args.buyers, time=args.time, load=os.getloadavg()[0])
    print(f"\n{'name':<22}{'requests':>9}{'failures':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}")
    for name, row in [*result["requests"].items(), ("total", result["total"])]:
        print(
            f"{name:<22}{row['requests']:>9}{row['failures']:>9}{row['rps']:>8}"
            f"{row['p50_ms']:>8.0f}{row['p95_ms']:>8.0f}"
        )
    print(json.dumps(result))
    return 0 if done.returncode in (0, 1) else done.returncode


if __name__ == "__main__":
    sys.exit(main())
