"""Market grid benchmark: section pages cold and warm, against the trivial /healthz/ view.

    .venv/bin/python bench/grid.py                      # SQLite in a temp dir
    .venv/bin/python bench/grid.py --postgres postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/grid.py --url http://127.0.0.1:8000   # a server already running

Each round starts daphne on a freshly seeded 10x10 market with empty caches and walks
50 contiguous sections (a snake: row 0 left to right, row 1 right to left, ...) one
row at a time: the row's full pages first (cold), then the same row again at once,
well within the 5 s the section and minimap caches hold: full page, HTMX fragment and
/healthz/ for each section (warm). Rows rather than all 50 sections before the warm
pass, because that pass came up to 4.9 s after the cold one on a loaded machine. With
REDIS_URL set the server caches in Redis, so Django's cache keys there are deleted
before each round (and after the last). The target is warm pages within 3x of the
trivial view and p95 under 50 ms (the playbook asks p95 < 1 s cold); times are
reported, never asserted. The last line of output is JSON with every figure.
"""

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import bench_arguments, run_bench  # noqa: E402
from bench._clients import Client  # noqa: E402
from bench._report import (  # noqa: E402
    percentiles_ms,
    print_percentiles,
    print_ratios,
    progress,
    ratios_p50_p95,
)
from bench._servers import (  # noqa: E402
    clear_redis_cache,
    daphne,
    redis_cache_cleared,
    seed,
)

SECTIONS = 10
STALLS = 7
WALK_LENGTH = 50
# SECTION_CACHE_SECONDS in bazaar/settings/base.py (the minimap reads the live crowd).
CACHE_SECONDS = 5
HTMX = {"HX-Request": "true"}


def snake_path(size: int, length: int) -> list[tuple[int, int]]:
    """Sections in keyboard order: every step moves to a neighbour, as a visitor would."""
    path = []
    for y in range(size):
        xs = range(size) if y % 2 == 0 else range(size - 1, -1, -1)
        path.extend((x, y) for x in xs)
    return path[:length]


PATH = snake_path(SECTIONS, WALK_LENGTH)


@dataclass
class Samples:
    """Seconds per request, by kind, over all rounds."""

    first: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)
    fragment: list[float] = field(default_factory=list)
    trivial: list[float] = field(default_factory=list)
    # The longest wait between a section's first and warm visits: past the cache's
    # lifetime, "warm" requests were misses.
    warm_lag: float = 0.0


def get_section(client: Client, x: int, y: int, *, fragment: bool) -> float:
    """Time one section, checking it is the full page or the fragment that was asked for."""
    response = client.get(f"/market/{x}/{y}/", HTMX if fragment else None)
    if (b"<html" in response.body) == fragment:
        raise RuntimeError(f"/market/{x}/{y}/ (fragment={fragment}) returned the wrong template")
    return response.seconds


def measure_round(base_url: str, samples: Samples) -> None:
    """Per row, the first walk fills the caches and the second, straight after, reads them."""
    with Client(base_url) as client:
        for start in range(0, len(PATH), SECTIONS):
            row = PATH[start : start + SECTIONS]
            first_visit = []
            for x, y in row:
                first_visit.append(time.perf_counter())
                samples.first.append(get_section(client, x, y, fragment=False))
            for (x, y), visited_at in zip(row, first_visit, strict=True):
                samples.warm_lag = max(samples.warm_lag, time.perf_counter() - visited_at)
                samples.page.append(get_section(client, x, y, fragment=False))
                samples.fragment.append(get_section(client, x, y, fragment=True))
                samples.trivial.append(client.get("/healthz/").seconds)


def figures(samples: Samples, *, first_label: str, rounds: int, started: float) -> dict:
    warm_page, fragment = percentiles_ms(samples.page, 2), percentiles_ms(samples.fragment, 2)
    trivial = percentiles_ms(samples.trivial, 2)
    return {
        f"{first_label}_page_ms": percentiles_ms(samples.first, 2),
        "warm_page_ms": warm_page,
        "warm_fragment_ms": fragment,
        "trivial_ms": trivial,
        "ratio_warm_to_trivial": ratios_p50_p95(warm_page, trivial),
        "ratio_fragment_to_trivial": ratios_p50_p95(fragment, trivial),
        "rounds": rounds,
        "warm_lag_max_s": round(samples.warm_lag, 2),
        "elapsed_s": round(time.monotonic() - started, 1),
    }


def print_table(title: str, result: dict, first_label: str) -> None:
    rows = [
        (f"{first_label.replace('_', ' ')} page", result[f"{first_label}_page_ms"]),
        ("warm page", result["warm_page_ms"]),
        ("warm HTMX fragment", result["warm_fragment_ms"]),
        ("trivial /healthz/", result["trivial_ms"]),
    ]
    print(f"\n{title}")
    print_percentiles("kind", rows, 22)
    for label, key in (
        ("warm page", "ratio_warm_to_trivial"),
        ("fragment", "ratio_fragment_to_trivial"),
    ):
        print_ratios(label + " / trivial", result[key], 27)
    print(
        f"  targets: warm within 3x of trivial, p95 < 50 ms (playbook: cold p95 < 1 s); "
        f"took {result['elapsed_s']} s"
    )
    if result["warm_lag_max_s"] > CACHE_SECONDS:
        print(
            f"  warning: a warm request came {result['warm_lag_max_s']} s after the first "
            f"visit, past the {CACHE_SECONDS} s cache: warm figures include cache misses"
        )


def run_database(
    name: str, env: dict[str, str], workdir: Path, rounds: int, server: str = "daphne"
) -> dict:
    """Seed once, then one fresh server (and emptied Redis cache) per cold round."""
    started = time.monotonic()
    redis_url = env.get("REDIS_URL", "")
    progress(f"{name}: migrating and seeding {SECTIONS}x{SECTIONS} sections, {STALLS} stalls")
    seed(env=env, sections=SECTIONS, stalls=STALLS)
    samples = Samples()
    # The layout is cached for 5 minutes, so every cold round starts with an empty cache.
    with redis_cache_cleared(env) as cache:
        for number in range(1, rounds + 1):
            progress(f"{name}: round {number} of {rounds}")
            if redis_url and number > 1:
                clear_redis_cache(redis_url)
            with daphne(env=env, log_path=workdir / f"{server}.log", server=server) as base_url:
                measure_round(base_url, samples)
    result = figures(samples, first_label="cold", rounds=rounds, started=started)
    debug = env["DJANGO_DEBUG"]
    print_table(
        f"{name}: {rounds} rounds x {WALK_LENGTH} sections of a {SECTIONS}x{SECTIONS} market "
        f"({STALLS} stalls each), {cache}, DJANGO_DEBUG={debug}, {server}",
        result,
        "cold",
    )
    return result


def run_url(base_url: str) -> dict:
    """A server someone else started: its cache state is unknown, so no cold figures."""
    started = time.monotonic()
    samples = Samples()
    progress(f"measuring {base_url}")
    measure_round(base_url, samples)
    result = figures(samples, first_label="first_walk", rounds=1, started=started)
    print_table(f"{base_url}: {WALK_LENGTH} sections, walked once then warm", result, "first_walk")
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return bench_arguments(
        argv,
        description=__doc__.split("\n", 1)[0],
        url_help="measure a running server seeded with a 10x10 market instead of starting one",
        rounds=3,
        rounds_help="cold rounds per database",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_bench(
        on_url=run_url,
        on_database=lambda name, env, workdir: run_database(
            name, env, workdir, args.rounds, args.server
        ),
        url=args.url,
        postgres=args.postgres,
    )


if __name__ == "__main__":
    sys.exit(main())
