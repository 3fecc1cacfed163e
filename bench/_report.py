"""Shared by the benchmarks: the figures they report (percentiles, ratios against a
baseline, counts merged across clients) and the progress lines they print on stderr.

A benchmark reports times, never asserts them: nothing here fails on a slow figure.
"""

import math
import os
import statistics
import sys
from collections.abc import Iterable


def progress(message: str) -> None:
    """A line about where the run is, on stderr, so stdout stays the figures."""
    print(message, file=sys.stderr, flush=True)


def ms(seconds: float, digits: int = 2) -> float:
    return round(seconds * 1000, digits)


def percentiles_ms(seconds: list[float], digits: int = 1) -> dict:
    """n, p50, p95 (inclusive quantiles) and max of `seconds`, in milliseconds."""
    if not seconds:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    p95 = (
        statistics.quantiles(seconds, n=20, method="inclusive")[-1]
        if len(seconds) > 1
        else seconds[0]
    )
    return {
        "n": len(seconds),
        "p50": ms(statistics.median(seconds), digits),
        "p95": ms(p95, digits),
        "max": ms(max(seconds), digits),
    }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with `fraction` of them at or below."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def median_p95_ms(seconds: list[float]) -> dict:
    """n, median and p95 in milliseconds, the p95 by nearest rank (`percentile`): with
    fewer than 20 values it is the largest. Ranked down, as it was, the p95 of five
    entrants' first frames was the fourth and left the slowest out."""
    if not seconds:
        return {"n": 0}
    return {
        "n": len(seconds),
        "median_ms": ms(statistics.median(seconds), 1),
        "p95_ms": ms(percentile(seconds, 0.95), 1),
    }


def median_min_max_ms(seconds: list[float]) -> dict:
    return {
        "median_ms": ms(statistics.median(seconds)),
        "min_ms": ms(min(seconds)),
        "max_ms": ms(max(seconds)),
    }


def ratio(part: float | None, whole: float | None, digits: int = 2) -> float | None:
    """part / whole, rounded; None when there is no baseline to compare with."""
    return round(part / whole, digits) if part is not None and whole else None


def ratios_p50_p95(part: dict, whole: dict) -> dict[str, float | None]:
    """A page's percentiles over the baseline's (keys of `percentiles_ms`)."""
    return {key: ratio(part[key], whole[key]) for key in ("p50", "p95")}


def print_percentiles(heading: str, rows: list[tuple[str, dict]], width: int) -> None:
    """A table of `percentiles_ms` figures, one row per (label, figures)."""
    print(f"  {heading:<{width}}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for label, stats in rows:
        print(
            f"  {label:<{width}}{stats['n']:>5}{stats['p50']:>10.2f}{stats['p95']:>10.2f}"
            f"{stats['max']:>10.2f}"
        )


def print_ratios(label: str, ratios: dict, width: int) -> None:
    """A `ratios_p50_p95` line: the label, then p50 and p95 as multiples."""
    print(f"  {label:<{width}}{ratios['p50']:>9.2f}x{ratios['p95']:>9.2f}x")


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Several clients' {reason: count} tallies as one."""
    merged: dict[str, int] = {}
    for tally in counts:
        for name, count in tally.items():
            merged[name] = merged.get(name, 0) + count
    return merged


def load_average(digits: int = 2) -> float:
    """The machine's 1-minute load average: other work on it skews every figure."""
    return round(os.getloadavg()[0], digits)
