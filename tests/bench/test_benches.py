"""The benchmarks stay runnable: each module imports, parses its own options with the
defaults its docstring promises, and shapes its figures with the keys its closing
JSON line has always had. Nothing here runs a server or looks at a time."""

import importlib
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from bench import _room
from bench._cli import DEFAULT_POSTGRES, DEFAULT_REDIS, bench_main
from bench._report import (
    median_p95_ms,
    merge_counts,
    percentile,
    percentiles_ms,
    ratio,
    ratios_p50_p95,
)

BENCH = Path(__file__).resolve().parents[2] / "bench"
PERCENTILES = {"n", "p50", "p95", "max"}

DEFAULTS = {
    "analytics": {"events": 20_000, "postgres": DEFAULT_POSTGRES, "databases": "sqlite,postgres"},
    "grid": {"postgres": None, "url": None, "rounds": 3},
    "search": {"postgres": None, "url": None, "rounds": 8},
    "checkout": {
        "postgres": DEFAULT_POSTGRES,
        "buyers": 40,
        "concurrency": 20,
        "stalls": 4,
        "items": 2,
        "units": 3,
        "baseline_posts": 5,
    },
    "offers": {
        "pairs": 50,
        "rounds": 5,
        "think": 0.0,
        "server_processes": 1,
        "via": ["http", "socket"],
        "baseline_posts": 5,
        "worker": True,
        "postgres": DEFAULT_POSTGRES,
        "redis": DEFAULT_REDIS,
    },
    "auction": {
        "bidders": "100",
        "watchers": 1000,
        "transports": "socket,http",
        "servers": 1,
        "socket_servers": 0,
        "server": "daphne",
        "seconds": 8.0,
        "baseline_seconds": 5.0,
        "retry_every": 10,
        "wave_every": 1.0,
        "wave_transports": "socket",
        "rate": 5e7,
        "postgres": DEFAULT_POSTGRES,
        "redis": DEFAULT_REDIS,
        "url": None,
    },
    "video": {
        "viewers": 20,
        "seconds": 15.0,
        "baseline_seconds": 4.0,
        "enter_every": 2.0,
        "alone": 3,
        "fair_entries": 5,
        "own_devices": "core",
        "rounds": "all",
    },
    "page_cost": {
        "postgres": DEFAULT_POSTGRES,
        "redis": DEFAULT_REDIS,
        "server": "uvicorn",
        "rounds": 60,
        "requests": 5,
    },
    "crowd": {
        "n": "1000,5000",
        "servers": 2,
        "workers": 4,
        "concurrency": 400,
        "settle": 11.0,
        "idle": 20.0,
        "rounds": 3,
        "grid": 30,
        "no_auction": False,
        "server": "daphne",
        "postgres": DEFAULT_POSTGRES,
        "redis": DEFAULT_REDIS,
    },
    "layers": {"redis": DEFAULT_REDIS, "members": 1000, "rounds": 20, "warmup": 3},
    "stall_room": {
        "sizes": [100, 500, 1000],
        "full": False,
        "budget": 180,
        "configs": ["baseline", "project", "pubsub"],
        "redis": DEFAULT_REDIS,
        "postgres": None,
        "rounds": 5,
        "seconds": 5.0,
        "warmup": 1.0,
        "publishers": 50,
        "workers": 2,
        "server_processes": 1,
        "concurrency": 25,
        "url": None,
    },
}


@pytest.fixture
def no_database_env(monkeypatch):
    """Defaults as on a developer's machine, whatever the suite's own DATABASE_URL."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_each_bench_parses_its_defaults(name, no_database_env):
    bench = importlib.import_module(f"bench.{name}")

    args = vars(bench.parse_args([]))

    assert {key: args[key] for key in DEFAULTS[name]} == DEFAULTS[name]


def test_every_bench_has_a_parser_and_a_main():
    names = {path.stem for path in BENCH.glob("*.py") if not path.stem.startswith("_")}

    assert names - {"settings_layer"} == set(DEFAULTS)


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("grid", ["--rounds", "0"]),
        ("analytics", ["--events", "10"]),
        ("analytics", ["--databases", "sqlite,mysql"]),
        ("search", ["--url", "http://127.0.0.1:8000", "--postgres", DEFAULT_POSTGRES]),
        ("offers", ["--pairs", "0"]),
        ("offers", ["--via", "http,carrier-pigeon"]),
        ("page_cost", ["--requests", "0"]),
        ("stall_room", ["--configs", "baseline,nginx"]),
        ("stall_room", ["--url", "http://127.0.0.1:8000"]),
        ("stall_room", ["--seconds", "1", "--warmup", "1"]),
        ("crowd", ["--n", "1000,0"]),
        ("crowd", ["--servers", "1"]),
    ],
)
def test_a_bench_refuses_options_that_cannot_run(name, argv, no_database_env):
    bench = importlib.import_module(f"bench.{name}")

    with pytest.raises(SystemExit):
        bench.parse_args(argv)


def test_bench_options_from_the_environment(monkeypatch):
    monkeypatch.setenv("BENCH_DATABASE_URL", "postgres://bench@db.example:5432/x")
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db.example:5432/y")
    grid = importlib.import_module("bench.grid")
    checkout = importlib.import_module("bench.checkout")

    assert grid.parse_args([]).postgres == "postgres://bench@db.example:5432/x"
    assert checkout.parse_args([]).postgres == "postgres://app@db.example:5432/y"


def test_no_bench_module_passes_600_lines():
    lengths = {path.name: len(path.read_text().splitlines()) for path in BENCH.glob("*.py")}

    assert {name: n for name, n in lengths.items() if n > 600} == {}


def test_grid_figures_keep_their_keys(capsys):
    grid = importlib.import_module("bench.grid")
    samples = grid.Samples(
        first=[0.02, 0.03], page=[0.004, 0.005], fragment=[0.003, 0.004], trivial=[0.002, 0.002]
    )

    figures = grid.figures(samples, first_label="cold", rounds=1, started=time.monotonic())

    assert set(figures) == {
        "cold_page_ms",
        "warm_page_ms",
        "warm_fragment_ms",
        "trivial_ms",
        "ratio_warm_to_trivial",
        "ratio_fragment_to_trivial",
        "rounds",
        "warm_lag_max_s",
        "elapsed_s",
    }
    assert set(figures["warm_page_ms"]) == PERCENTILES
    assert figures["ratio_warm_to_trivial"] == {"p50": 2.25, "p95": 2.48}
    json.dumps(figures)
    grid.print_table("grid", figures, "cold")
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["trivial", "/healthz/", "2", "2.00", "2.00", "2.00"] in rows
    assert ["warm", "page", "/", "trivial", "2.25x", "2.48x"] in rows


def test_search_figures_keep_their_keys(capsys):
    search = importlib.import_module("bench.search")
    samples = {label: [0.01, 0.02] for label, _ in search.SEARCHES}
    samples |= {"live search fragment": [0.01], "front page": [0.02], "trivial": [0.005, 0.005]}
    samples |= {"cpu searches": [0.004], "cpu trivial": [0.001]}

    figures = search.figures(samples, time.monotonic())

    expected = {label for label, _ in search.SEARCHES} | {
        "live search fragment",
        "front page",
        "trivial",
        "all searches",
        "ratio_searches_to_trivial",
        "server_cpu_ms_per_request",
        "load_average",
        "elapsed_s",
    }
    assert set(figures) == expected
    assert figures["ratio_searches_to_trivial"] == {"p50": 3.0, "p95": 4.0}
    assert figures["server_cpu_ms_per_request"] == {"searches": 4.0, "trivial": 1.0}
    json.dumps(figures)
    search.print_table("search", figures)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["trivial", "2", "5.00", "5.00", "5.00"] in rows
    assert ["searches", "/", "trivial", "3.00x", "4.00x"] in rows


def _room_run(p50: float, messages_per_s: float) -> dict:
    return {
        "listeners_connected": 100,
        "latency": {"p50_ms": p50, "p95_ms": 2 * p50, "max_ms": 3 * p50},
        "sustained": {"messages_per_s": messages_per_s, "rate_limit_bound": False},
        "loadavg_1min": [1.0, 1.5],
    }


def test_stall_room_ratios_against_the_baseline(capsys):
    runs = {"baseline": _room_run(2.0, 400.0), "project": _room_run(5.0, 100.0)}

    ratios = _room.summarise(100, runs)
    _room.print_table(100, runs, ratios)

    assert ratios == {
        "project": {
            "latency_p50_x": 2.5,
            "latency_p95_x": 2.5,
            "latency_max_x": 2.5,
            "throughput_pct_of_baseline": 25.0,
            "rate_limit_bound": False,
        }
    }
    assert "project / baseline: latency p50 2.5x" in capsys.readouterr().out


def test_stall_room_without_a_baseline_has_no_ratios():
    assert _room.summarise(100, {"project": _room_run(5.0, 100.0)}) == {}


def test_bench_main_ends_with_the_figures_as_one_json_line(capsys, monkeypatch):
    monkeypatch.setattr(signal, "signal", lambda *args: None)

    code = bench_main(lambda started: {"figure": 1.5}, record_elapsed=True)

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[-2].startswith("total ")
    assert set(json.loads(lines[-1])) == {"figure", "elapsed_s"}


def test_bench_main_interrupted_prints_no_figures(capsys, monkeypatch):
    monkeypatch.setattr(signal, "signal", lambda *args: None)

    def interrupted(started: float) -> dict:
        raise KeyboardInterrupt

    code = bench_main(interrupted)

    captured = capsys.readouterr()
    assert code == 130
    assert captured.out == ""
    assert "interrupted" in captured.err


def test_figures_helpers():
    assert percentiles_ms([]) == {"n": 0, "p50": None, "p95": None, "max": None}
    assert percentiles_ms([0.001, 0.003], 2) == {"n": 2, "p50": 2.0, "p95": 2.9, "max": 3.0}
    assert percentile([5, 1, 4, 2, 3], 0.95) == 5
    assert percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert median_p95_ms([]) == {"n": 0}
    assert median_p95_ms([0.001] * 19 + [0.1]) == {"n": 20, "median_ms": 1.0, "p95_ms": 1.0}
    five = [0.727, 0.492, 1.027, 0.570, 0.735]  # a video round's entrants: the slowest counts
    assert median_p95_ms(five) == {"n": 5, "median_ms": 727.0, "p95_ms": 1027.0}
    assert ratio(3, 2) == 1.5
    assert ratio(3, 0) is None
    assert ratio(None, 2) is None
    assert ratios_p50_p95({"p50": 4, "p95": 9}, {"p50": 2, "p95": 3}) == {"p50": 2.0, "p95": 3.0}
    assert merge_counts([{"a": 1}, {"a": 2, "b": 1}, {}]) == {"a": 3, "b": 1}


def test_a_bench_starts_daphne_alone_or_the_projects_launcher():
    from bench._servers import server_command

    assert server_command("daphne", 8001, 1)[1:3] == ["-m", "daphne"]
    launcher = server_command("daphne", 8001, 2)
    assert launcher[1:5] == ["-m", "bazaar.serve", "--server", "daphne"]
    assert launcher[-4:] == ["--port", "8001", "--workers", "2"]
    uvicorn = server_command("uvicorn", 8001, 1)
    assert uvicorn[1:5] == ["-m", "bazaar.serve", "--server", "uvicorn"]
    assert uvicorn[-2:] == ["--workers", "1"]


def test_a_bench_keeps_its_servers_to_the_ports_it_is_given(monkeypatch):
    from bench._servers import free_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        monkeypatch.setenv("BENCH_PORTS", f"{port}-{port + 50}")
        assert port < free_port() <= port + 50
        monkeypatch.setenv("BENCH_PORTS", f"{port}-{port}")
        with pytest.raises(OSError, match="no free port"):
            free_port()


def test_a_process_tree_is_reniced_whole():
    """The video bench lowers the watchers' chromium with all it started (renderers fork
    from zygotes, from several of the browser's threads): children and grandchildren."""
    import subprocess

    from bench._browsers import descendants, renice

    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 5
        while len(descendants(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree = {parent.pid} | descendants(parent.pid)
        assert len(tree) == 3
        assert renice(parent.pid, 19) == 3
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in tree} == {19}
    finally:
        for pid in descendants(parent.pid):
            os.kill(pid, signal.SIGTERM)
        parent.terminate()
        parent.wait(timeout=5)


def _process_tree(script: str, children: int):
    """`sh -c script` once it has `children` processes of its own."""
    import subprocess

    from bench._browsers import descendants

    parent = subprocess.Popen(["sh", "-c", script])
    deadline = time.monotonic() + 10
    while len(descendants(parent.pid)) < children and time.monotonic() < deadline:
        time.sleep(0.05)
    return parent


def _end_tree(parent) -> None:
    from bench._browsers import descendants

    for pid in descendants(parent.pid):
        os.kill(pid, signal.SIGTERM)
    parent.terminate()
    parent.wait(timeout=5)


def _cpuset_writable() -> bool:
    from bench import _browsers

    try:
        cpus = _browsers._cpus((_browsers._own_cpuset() / "cpuset.effective_cpus").read_text())
    except OSError:
        return False
    return os.geteuid() == 0 and len(cpus) > 1


@pytest.mark.skipif(not _cpuset_writable(), reason="needs root, cgroup v1 cpuset and 2 CPUs")
def test_the_watchers_browser_is_confined_to_a_cpu_of_its_own():
    """The video bench's watchers on their own devices: the browser's whole tree on the
    last CPU, and what it starts later too (renderers fork as pages open), at the
    priority it had; given back and the group removed afterwards."""
    from bench import _browsers

    parent = _process_tree("sleep 30 & sleep 1; sleep 30 & wait", children=2)
    every_cpu = os.sched_getaffinity(parent.pid)
    last = max(every_cpu)
    priority = os.getpriority(os.PRIO_PROCESS, parent.pid)  # the suite may run niced
    try:
        with _browsers.confined(parent.pid, 19) as confinement:
            group = next(_browsers._own_cpuset().glob(f"bazaar-bench-*-{parent.pid}"))
            before = _browsers.descendants(parent.pid)
            deadline = time.monotonic() + 10
            while not _browsers.descendants(parent.pid) - before and time.monotonic() < deadline:
                time.sleep(0.05)  # the second long sleep, forked after the move
            tree = {parent.pid} | _browsers.descendants(parent.pid)
            assert len(tree - before) == 2
            assert {frozenset(os.sched_getaffinity(pid)) for pid in tree} == {frozenset({last})}
            assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in tree} == {priority}
        assert confinement == {
            "cpus": str(last),
            "processes_confined": 3,  # sh, the first long sleep and the short one
            "processes_reniced": 0,
            "fallback": None,
        }
        assert not group.exists()
        assert os.sched_getaffinity(parent.pid) == every_cpu
    finally:
        _end_tree(parent)


def test_without_a_cpuset_the_watchers_are_only_reniced_and_the_bench_says_so(
    monkeypatch, tmp_path
):
    """No root or no cgroup v1 (here: no cpuset hierarchy where the bench looks): the
    watchers' browser runs at nice 19 on any CPU, and the confinement says why."""
    from bench import _browsers

    monkeypatch.setattr(_browsers, "CPUSET", tmp_path / "no-cgroups")
    parent = _process_tree("sleep 30 & wait", children=1)
    try:
        with _browsers.confined(parent.pid, 19) as confinement:
            assert os.getpriority(os.PRIO_PROCESS, parent.pid) == 19
        assert confinement["cpus"] is None
        assert confinement["processes_confined"] == 0
        assert confinement["processes_reniced"] == 2
        assert "nice 19 instead" in confinement["fallback"]
        with _browsers.confined(parent.pid, 19, cpuset=False) as asked:
            assert asked["fallback"] == "no cpuset of their own (not asked for): nice 19 instead"
    finally:
        _end_tree(parent)


def test_an_entrant_whose_page_never_answers_counts_without_a_frame():
    """On a machine too busy for a page to commit in 30 s, the video bench records that
    entry (no frame, no steps) instead of ending the run."""
    from playwright.sync_api import TimeoutError as NoAnswer

    from bench import _video_pages

    class Page:
        def add_init_script(self, script):
            pass

        def goto(self, url, wait_until):
            raise NoAnswer("Page.goto: Timeout 30000ms exceeded.")

        def evaluate(self, expression):
            assert expression.startswith(("window.__timeline ?", "window.__rtp ?"))
            return {"steps": {}, "asked": None} if "timeline" in expression else []

    class Browser:
        def new_context(self, viewport):
            return type("Context", (), {"new_page": lambda self: Page()})()

    page = _video_pages.viewer(Browser(), "http://stall/", _video_pages.DESKTOP, wait=False)

    assert _video_pages.timeline(page) == {"steps": {}, "asked": None}
    assert _video_pages.inbound(page) == {"bytes": 0, "frames": 0, "height": 0}
    with pytest.raises(NoAnswer):
        _video_pages.viewer(Browser(), "http://stall/", _video_pages.DESKTOP, wait=True)


def test_an_entrant_read_after_the_deadline_is_still_read():
    """Entrants are read one after another: one whose turn comes after the wait's end
    keeps the frame it had instead of counting as one without."""
    from bench import _video_pages

    class Page:
        def evaluate(self, expression):
            return 1234.5 if expression == "window.__firstFrameMs" else None

    past = time.monotonic() - 1
    assert _video_pages.first_frame(Page(), "__firstFrameMs", deadline=past) == 1234.5
    assert _video_pages.first_frame(Page(), "__firstFrameAt", deadline=past) is None


def test_page_cost_ratios_are_per_round_against_the_trivial_view_just_before(capsys):
    page_cost = importlib.import_module("bench.page_cost")
    # The trivial view's CPU doubles in the third round; the page's with it, so its
    # per-round ratio stays 2, where a ratio of the medians would not.
    trivial = [0.001, 0.001, 0.002, 0.002]
    samples = {
        "trivial": {"cpu": trivial, "wall": [0.002] * 4},
        "grid": {"cpu": [0.002, 0.002, 0.004, 0.004], "wall": [0.004] * 4, "trivial_cpu": trivial},
        "cart": {"cpu": [0.003, 0.003, 0.008, 0.004], "wall": [0.005] * 4, "trivial_cpu": trivial},
    }

    figures = page_cost.figures(samples, load_before=1.0)

    assert set(figures) == {
        "pages",
        "worst_ratio",
        "aim_met",
        "aim_met_q3",
        "load_before",
        "load_after",
    }
    assert figures["pages"]["trivial"]["cpu_ratio"] == 1.0
    assert figures["pages"]["grid"]["cpu_ratio"] == 2.0
    assert figures["pages"]["grid"]["ratio_iqr"] == [2.0, 2.0]
    assert figures["pages"]["cart"]["cpu_ratio"] == 3.0
    assert figures["pages"]["cart"]["ratio_iqr"] == [2.75, 3.25]
    assert figures["pages"]["cart"]["cpu_ms"] == 3.5
    assert (figures["worst_ratio"], figures["aim_met"], figures["aim_met_q3"]) == (3.0, True, False)
    json.dumps(figures)
    page_cost.print_table({**figures, "server": "uvicorn"}, 4, 5)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["cart", "3.50", "3.00x", "2.75-3.25x", "5.00", "5.00"] in rows


def test_page_cost_asks_the_stall_page_as_a_returning_buyer_and_as_one_not_yet_shown_the_notice():
    page_cost = importlib.import_module("bench.page_cost")
    kinds = page_cost.pages({"section": [1, 2], "stall": "S", "item": "I"})

    assert kinds["stall_signed_in"] == ("/stalls/S/", page_cost.RETURNING)
    assert kinds["stall_notice_due"] == ("/stalls/S/", page_cost.NOTICE_DUE)
    assert kinds["cart"] == ("/cart/", page_cost.RETURNING)
    assert kinds["stall_signed_out"][1] is kinds["item"][1] is page_cost.GUEST
    assert len({page_cost.GUEST, page_cost.RETURNING, page_cost.NOTICE_DUE}) == 3
