"""Shared by the benchmarks: server CPU weighed window by window against bare POSTs
measured just around each window, with a Celery worker's CPU beside it.

On a shared machine the load moves a server's CPU per request by a third from one
minute to the next, bare POSTs and actions alike: a ratio against one baseline taken
before the whole run followed the load more than the code (issue 15, session
offers8). The median over windows, each against its own neighbours, moves less.
"""

import statistics

from bench._report import ratio
from bench._servers import cpu_seconds


def worker_cpu(pid: int | None) -> float:
    """The Celery worker's CPU so far (its children's included), 0 without one."""
    return cpu_seconds(pid) if pid is not None else 0.0


def windows_summary(windows: list[dict], idle_cpu_per_second: float) -> dict:
    """Each window's server CPU per action in bare POSTs of the windows around it, and
    the medians over the windows: the figure that says whether x3 is met."""
    rows = []
    for window in windows:
        # The Celery worker's: the jobs the actions queued.
        worker_per_action = window["worker_cpu"] * 1000 / window["actions"]
        per_action = window["cpu"] * 1000 / window["actions"]
        idle = idle_cpu_per_second * window["seconds"] * 1000 / window["actions"]
        rows.append(
            {
                "server_cpu_ms_per_action": round(per_action, 2),
                "server_cpu_ms_per_bare_post": round(window["bare_cpu_ms"], 2),
                "in_bare_posts": ratio(per_action, window["bare_cpu_ms"], 2),
                "net_of_idle_in_bare_posts": ratio(per_action - idle, window["bare_cpu_ms"], 2),
                "worker_cpu_ms_per_action": round(worker_per_action, 2),
                "with_worker_in_bare_posts": ratio(
                    per_action + worker_per_action, window["bare_cpu_ms"], 2
                ),
            }
        )
    actions = sum(window["actions"] for window in windows)
    return {
        "cpu_windows": rows,
        "action_cpu_in_bare_posts_median": median_of(rows, "in_bare_posts"),
        "action_cpu_net_of_idle_in_bare_posts_median": median_of(rows, "net_of_idle_in_bare_posts"),
        "worker_cpu_ms_per_action": round(sum(w["worker_cpu"] for w in windows) * 1e3 / actions, 1),
        "action_cpu_with_worker_in_bare_posts_median": median_of(rows, "with_worker_in_bare_posts"),
    }


def median_of(rows: list[dict], key: str) -> float:
    return round(statistics.median(row[key] for row in rows), 2)
