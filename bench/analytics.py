"""Analytics benchmark: dashboard queries, dashboard pages, a roll-up window and the
live heat-map's delay, over a generated month of events on SQLite and PostgreSQL.

    .venv/bin/python bench/analytics.py                    # 20,000 events, SQLite then
                                                           # PostgreSQL (about 2 min)
    .venv/bin/python bench/analytics.py --events 1000000   # the issue's million
    .venv/bin/python bench/analytics.py --databases sqlite # SQLite only

Each database gets a small demo market (`seed_market --sections 3 --stalls 4`), then
`analytics_seed --events N` (a month of visits, offers, carts, orders, auctions; COPY
on PostgreSQL) and a backfill with `analytics_rollup` (both timed). Measured, against
baselines in the same run:
- every dashboard query over the last 30 days (p50/p95 of ROUNDS runs), beside the
  same DAU and GMV-by-day figures computed from the raw events (what the roll-ups save);
- a 30 s window's roll-up as beat runs it (100 new events each time), beside the first
  design's (rows counted into Python, deleted and inserted again) in alternate rounds,
  with the queries each makes; and the daily roll-up of today;
- the ops dashboard and the seller's analytics pages from a daphne server, beside
  /healthz/;
- the heat-map: a new visitor opens a section and the time until a `/ws/market/` frame
  counts them (the frame goes out every HEATMAP_SECONDS when the crowd changed; each
  trial starts just after a frame, so this is the slow phase, not the average).
The server is the embedded market (REDIS_URL is dropped: its one process runs beat).
Aims (issue 17): pages under 1 s, a window's roll-up under 200 ms, heat-map under 5 s.
Times are reported, never asserted; the last line of output is JSON with every figure.
"""

import argparse
import asyncio
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import add_postgres_server, bench_main  # noqa: E402
from bench._clients import Client  # noqa: E402
from bench._report import (  # noqa: E402
    load_average,
    percentiles_ms,
    print_percentiles,
    progress,
    ratio,
)
from bench._servers import (  # noqa: E402
    bench_database_name,
    collect_static,
    daphne,
    django_json,
    postgres_database,
    seed,
    server_env,
)
from bench._ws import connect, ws_url  # noqa: E402

DEFAULT_EVENTS = 20_000
ROUNDS = 15
HEAT_TRIALS = 6

_MEASURE = """
import json, sys, time
import django
django.setup()
from datetime import timedelta
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from analytics import selectors as s
from analytics.models import (
    VIEW_KINDS, DailyStall, Event, Kind, RollupCursor, SectionActivity
)
from analytics.rollups import (
    DAILY, EPOCH, PEOPLE, SECTION_ACTIVITY, Rollup, _bucket, rollup_run, window_start
)
from market.models import Section

# One process seeds, backfills and measures (each Django start costs seconds under load).
rounds, events = int(sys.argv[1]), sys.argv[2]
started = time.perf_counter()
call_command("analytics_seed", "--events", events)
seeded = time.perf_counter() - started
started = time.perf_counter()
call_command("analytics_rollup", "--since", "2000-01-01")
backfilled = time.perf_counter() - started

today = timezone.now().date()
period = s.Period(today - timedelta(days=29), today)
by_stall = DailyStall.objects.values("stall_id").annotate(n=Sum("events")).order_by("-n")
stall_id = by_stall[0]["stall_id"]
since = timezone.now() - timedelta(days=30)
section_id = Section.objects.values_list("pk", flat=True).first()

def times(work, n=rounds):
    spent = []
    for _ in range(n):
        started = time.perf_counter()
        work()
        spent.append(time.perf_counter() - started)
    return spent

queries = {
    "active_people": lambda: s.active_people(period=period),
    "market_totals": lambda: s.market_totals(period=period),
    "gmv_by_day": lambda: s.gmv_by_day(period=period),
    "gmv_by_section": lambda: s.gmv_by(period=period, field="section_id"),
    "gmv_by_stall": lambda: s.gmv_by(period=period, field="stall_id"),
    "stall_totals": lambda: s.stall_totals(stall_id=stall_id, period=period),
    "stall_by_day": lambda: s.stall_by_day(stall_id=stall_id, period=period),
    "stall_best_hours": lambda: s.stall_best_hours(
        stall_id=stall_id, period=period, zone=timezone.get_current_timezone()
    ),
}
by_day = lambda events: events.annotate(day=TruncDate("occurred_at")).values("day")
recent = Event.objects.filter(occurred_at__gte=since)
raw = {
    "raw_dau": lambda: list(by_day(recent).annotate(n=Count("visitor", distinct=True))),
    "raw_gmv_by_day": lambda: list(
        by_day(recent.filter(kind=Kind.ORDER_PAID)).annotate(n=Sum("amount_cents"))
    ),
}
figures = {name: times(work) for name, work in queries.items()}

# The first design's window (session pulse): counted by the database, turned into
# model instances in Python, the windows' rows deleted and inserted again.
def first_design_rebuild(start, end):
    rows = (
        Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end, section_id__isnull=False)
        .annotate(bucket=_bucket(30))
        .values("bucket", "section_id")
        .annotate(
            visitors=PEOPLE, views=Count("id", filter=Q(kind__in=VIEW_KINDS)), events=Count("id")
        )
    )
    fresh = [
        SectionActivity(
            window_start=window_start(row["bucket"], 30),
            section_id=row["section_id"],
            visitors=row["visitors"],
            views=row["views"],
            events=row["events"],
        )
        for row in rows
    ]
    SectionActivity.objects.filter(window_start__gte=start, window_start__lt=end).delete()
    SectionActivity.objects.bulk_create(fresh)
    return len(fresh)

FIRST_DESIGN = Rollup(SECTION_ACTIVITY.name, SECTION_ACTIVITY.seconds, first_design_rebuild)

# Its run also made sure of the cursor before locking it (one more query).
def first_design_run(now):
    RollupCursor.objects.get_or_create(name=FIRST_DESIGN.name, defaults={"recorded_until": EPOCH})
    rollup_run(FIRST_DESIGN, now=now)

designs = {
    "window_rollup": lambda now: rollup_run(SECTION_ACTIVITY, now=now),
    "window_rollup_first_design": first_design_run,
}

# 100 events in the last 20 s, as a window's run finds them; returns now.
def new_events():
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            kind=Kind.GRID_VIEWED,
            visitor=f"w{n}",
            section_id=section_id,
            occurred_at=now - timedelta(seconds=n % 20),
            recorded_at=now - timedelta(seconds=3),
        )
        for n in range(100)
    )
    return now

def window(design):
    now = new_events()
    started = time.perf_counter()
    design(now)
    return time.perf_counter() - started

def round_trips(design):
    now = new_events()
    with CaptureQueriesContext(connection) as captured:
        design(now)
    return len(captured)

queries_per_window = {}
for name, design in designs.items():
    window(design)
    queries_per_window[name] = round_trips(design)
    figures[name] = []
for _ in range(rounds):  # alternated, so both designs meet the same load
    for name, design in designs.items():
        figures[name].append(window(design))
figures["daily_rollup_today"] = times(lambda: rollup_run(DAILY), max(3, rounds // 5))
# Last: reading raw events sorts a month of them, and the temporary files it writes
# would still be draining to disk while the roll-ups above wait on their commits.
figures.update({name: times(work, max(3, rounds // 5)) for name, work in raw.items()})

# Sessions for the page rounds: ops staff and a seller.
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.models import User
from governance.models import Role
from governance.services import role_grant
store = import_module(settings.SESSION_ENGINE).SessionStore
role_grant(user=User.objects.get(handle="demo_ops"), role=Role.OPS)
sessions = {}
for handle in ("demo_ops", "demo_seller"):
    user = User.objects.get(handle=handle)
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    sessions[handle] = session.session_key

print(json.dumps({
    "events": Event.objects.count(),
    "seed_s": seeded,
    "backfill_s": backfilled,
    "figures": figures,
    "queries_per_window": queries_per_window,
    "cookie": settings.SESSION_COOKIE_NAME,
    "sessions": sessions,
}))
"""


def counts_in(frame: dict) -> dict[tuple[int, int], int]:
    """A heat frame's people per section: {(x, y): n}; other frames count nothing. In a
    batch, the last heat frame is the crowd (each frame is the whole market)."""
    if frame.get("type") == "batch":
        heat = [inner for inner in frame["frames"] if inner.get("type") == "heat"]
        return counts_in(heat[-1]) if heat else {}
    if frame.get("type") != "heat":
        return {}
    return {(x, y): people for x, y, people in frame["sections"]}


async def heat_delays(base_url: str, sections: list[tuple[int, int]]) -> list[float]:
    """For each section: a new visitor opens it; seconds until a frame counts them."""
    socket = await connect(ws_url(base_url, "/ws/market/"), origin=base_url)
    known: dict[tuple[int, int], int] = {}
    delays = []
    try:
        for x, y in sections:
            wanted = known.get((x, y), 0) + 1
            started = time.perf_counter()
            await asyncio.to_thread(lambda x=x, y=y: Client(base_url).get(f"/market/{x}/{y}/"))
            async with asyncio.timeout(30):
                while known.get((x, y), 0) < wanted:
                    frame = counts_in(json.loads(await socket.recv()))
                    if frame:
                        known = frame
            delays.append(time.perf_counter() - started)
    finally:
        await socket.close()
    return delays


def pages(base_url: str, cookie: str, sessions: dict[str, str]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"healthz": [], "ops_dashboard": [], "seller_analytics": []}
    ops = Client(base_url, cookies={cookie: sessions["demo_ops"]})
    seller = Client(base_url, cookies={cookie: sessions["demo_seller"]})
    anonymous = Client(base_url)
    for _ in range(ROUNDS):
        timings["ops_dashboard"].append(ops.get("/ops/analytics/").seconds)
        timings["seller_analytics"].append(seller.get("/dashboard/stall/analytics/").seconds)
        timings["healthz"].append(anonymous.get("/healthz/").seconds)
    return timings


def bench_env(database_url: str, workdir: Path) -> dict[str, str]:
    """The embedded market on this database: its one process runs beat, heat-map pushes
    included (with REDIS_URL they would wait for a Celery beat this bench does not start)."""
    env = server_env(database_url=database_url, media_root=workdir / "media")
    env.pop("REDIS_URL", None)
    return env


def prepare(envs: dict[str, dict[str, str]]) -> None:
    """Migrate and lay out a 3x3 market in every database and collect the static files,
    all at once: each is one process mostly waiting on its own CPU or database, and
    together they were most of a default run's time."""
    with ThreadPoolExecutor() as pool:
        jobs = [pool.submit(seed, env=env, sections=3, stalls=4) for env in envs.values()]
        jobs.append(pool.submit(collect_static, next(iter(envs.values()))))
        for job in jobs:
            job.result()


def on_database(name: str, env: dict[str, str], workdir: Path, events: int) -> dict:
    progress(f"{name}: {events:,} events, their backfill, the queries and roll-ups")
    measured = django_json(_MEASURE, str(ROUNDS), str(events), env=env)
    figures = {key: percentiles_ms(value) for key, value in measured["figures"].items()}
    progress(f"{name}: pages and the heat-map")
    with daphne(env=env, log_path=workdir / "daphne.log") as base_url:
        Client(base_url).get("/market/0/0/")  # warm the server
        for page, seconds in pages(base_url, measured["cookie"], measured["sessions"]).items():
            figures[page] = percentiles_ms(seconds)
        trials = [(n % 3, (n // 3) % 3) for n in range(HEAT_TRIALS)]
        figures["heatmap_delay"] = percentiles_ms(asyncio.run(heat_delays(base_url, trials)))
    rows = [(label, figure) for label, figure in figures.items()]
    print_percentiles(f"{name}: {measured['events']:,} events (ms)", rows, width=22)
    dashboard_p95 = max(figures[key]["p95"] for key in _DASHBOARD_QUERIES)
    result = {
        "events": measured["events"],
        "seed_s": round(measured["seed_s"], 1),
        "backfill_s": round(measured["backfill_s"], 1),
        "figures": figures,
        "slowest_dashboard_query_p95_ms": dashboard_p95,
        "raw_dau_vs_rollup_p50": ratio(figures["raw_dau"]["p50"], figures["active_people"]["p50"]),
        "raw_gmv_vs_rollup_p50": ratio(
            figures["raw_gmv_by_day"]["p50"], figures["gmv_by_day"]["p50"]
        ),
        "ops_page_vs_healthz_p50": ratio(
            figures["ops_dashboard"]["p50"], figures["healthz"]["p50"]
        ),
        "queries_per_window": measured["queries_per_window"],
        "window_first_design_vs_now_p50": ratio(
            figures["window_rollup_first_design"]["p50"], figures["window_rollup"]["p50"]
        ),
        "window_vs_healthz_p50": ratio(figures["window_rollup"]["p50"], figures["healthz"]["p50"]),
    }
    print(
        f"{name}: seeded in {result['seed_s']} s, backfilled in {result['backfill_s']} s; "
        f"raw DAU / rolled-up DAU {result['raw_dau_vs_rollup_p50']}x, "
        f"ops page / healthz {result['ops_page_vs_healthz_p50']}x; a window's roll-up: "
        f"first design / now {result['window_first_design_vs_now_p50']}x "
        f"(queries {measured['queries_per_window']}), now / healthz "
        f"{result['window_vs_healthz_p50']}x"
    )
    return result


_DASHBOARD_QUERIES = (
    "active_people",
    "market_totals",
    "gmv_by_day",
    "gmv_by_section",
    "gmv_by_stall",
    "stall_totals",
    "stall_by_day",
    "stall_best_hours",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    add_postgres_server(parser, help="the server a fresh database is made on for the run")
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="which to run, in order (default sqlite,postgres)",
    )
    args = parser.parse_args(argv)
    if args.events < 1000:
        parser.error("--events must be at least 1000")
    if set(args.databases.split(",")) - {"sqlite", "postgres"}:
        parser.error("--databases takes sqlite, postgres or both, comma-separated")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    databases = args.databases.split(",")

    def run(_started: float) -> dict:
        results = {"load_before": load_average()}
        with tempfile.TemporaryDirectory(prefix="bazaar-bench-") as tmp, ExitStack() as stack:
            workdir = Path(tmp)
            envs = {}
            for name in databases:
                (workdir / name).mkdir()
                url = (
                    f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}"
                    if name == "sqlite"
                    else stack.enter_context(
                        postgres_database(args.postgres, bench_database_name("analytics"))
                    )
                )
                envs[name] = bench_env(url, workdir / name)
            progress(f"{', '.join(databases)}: laying out a 3x3 market; static files")
            prepare(envs)
            for name, env in envs.items():
                results[name] = on_database(name, env, workdir / name, args.events)
        results["load_after"] = load_average()
        return results

    return bench_main(run)


if __name__ == "__main__":
    sys.exit(main())
