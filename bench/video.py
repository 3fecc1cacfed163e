"""Live video benchmark: one seller publishing and N viewers watching a stall's show on
the embedded backend (Janus), in Debian's chromium with its fake camera.

    .venv/bin/python bench/video.py                      # 20 viewers (~3 min when quiet)
    .venv/bin/python bench/video.py --seconds 60         # the issue's 60 s run
    .venv/bin/python bench/video.py --viewers 5 --seconds 10
    .venv/bin/python bench/video.py --rounds browserless   # only the browserless round (~1.5 min)

A fresh SQLite market with one stall, daphne serving it, and Janus configured by the
project (shows.media.janus_server). The seller's page goes live as a seller would (Go
live, title, Start show); the publisher sends VP8 simulcast, a high layer and a 480p
layer. One viewer already waits in the stall when the show starts (go-live to first
frame). Baseline: --alone viewers entering one after another, each alone (median and
steps), then the waiting viewer watching for --baseline-seconds. Then the others walk in
as shoppers do, one every --enter-every seconds, while those already there keep
watching; each entry is reported with its first frame (from its navigation's start) and
its steps in the order they happened (page response and parse, the show's start, Janus
session, attach, offer, answer, ICE, DTLS (as the browser saw it), Janus's webrtcup
event, the first frame's packets all in (its frame callback's receiveTime), first frame,
from the client's User Timing marks). Half the entrants use a phone-sized window (their
player asks for the 480p layer), half a desktop one. All watch for --seconds: frames
decoded by each viewer, the mean received bitrate per viewer by the layer it received,
the SFU's CPU (% of one core), the publisher's active simulcast layers. Last, they leave
and as many enter all at once: the worst case, a second figure (nothing hidden). Then a
third figure beside them: 19 of those stay watching, their browser confined (each
shopper decodes on a device of their own, not on the servers' CPU: --own-devices core,
the default, puts their browser's whole tree on one CPU of its own, a cgroup v1 cpuset,
so the servers, Janus, the publisher and the entrant keep the other CPU; without root or
cgroups it falls back to nice 19 on every CPU and says so; --own-devices nice is that
fallback, firstframe2's), and --fair-entries viewers enter one by
one in a browser of normal priority, each leaving once timed; the watchers' decoding
meanwhile is counted (all of them must decode; their frames a second too). Last, a
fourth figure: the chromium watchers gone, 19 watchers without a browser
(bench/_rtc_watchers: real WebRTC subscribers on Janus, each decoding the 480p layer
with libvpx, all in one Python process, placed as --own-devices says) watch while
--fair-entries viewers enter one by one as in the round before: the entrant's first
frame with as many decoding subscribers on the SFU, without 19 renderers on this
machine's CPU; their decoding is counted the same way, with their process's CPU.
--rounds browserless runs only that round (after go live and the alone baseline). The
seller publishes from a browser of its own, at normal priority throughout.

Each viewer is a browser context of its own (a shopper of its own: cookies, visitor id)
in one chromium process (but the third round's entrants); chromium gives each page its
own renderer, so an entering page's scripts never queue behind the watchers' work in a
shared renderer, which no real shopper lives. Entering viewers alternate between two
designs, reported side by side in each round: "page starts" (the product: the page's
head starts subscribing) and "stage starts" (that start turned into a no-op, so stage.js
subscribes after the page's deferred scripts, as before). Ratios: bitrate per viewer
with N viewers over the baseline viewer's, each round's enter-to-first-frame p95 over
the median alone, and "page starts" p95 over "stage starts" p95. The machine is shared:
chromium's decoding of N videos is the CPU's limit, not Janus; the load average is
recorded before and after each round. Times are reported, never asserted. The last line
of output is JSON with every figure. BENCH_PORTS (e.g. 8300-8399) and
JANUS_RTP_PORT_RANGE (e.g. 40000-40999) keep a run on ports of its own.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._browsers import confined, launch  # noqa: E402
from bench._cli import bench_main, parser_for  # noqa: E402
from bench._report import load_average, median_p95_ms, progress, ratio  # noqa: E402
from bench._rtc_watchers import watching  # noqa: E402
from bench._servers import (  # noqa: E402
    cpu_seconds,
    daphne_process,
    django_json,
    free_port,
    migrate,
    server_env,
    wait_for_port,
)
from bench._video_pages import (  # noqa: E402
    DESIGNS,
    DESKTOP,
    FIRST_FRAME_WAIT_S,
    PAGE_SCRIPT,
    PHONE,
    by_layer,
    first_frame,
    inbound,
    ordered,
    outbound,
    publisher_layers,
    step_costs,
    timeline,
    viewer,
    watch,
)
from bench._video_report import report  # noqa: E402

CHROMIUM = os.environ.get("BAZAAR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
# The watchers' browser in the last round without a CPU of its own: the lowest priority.
WATCHERS_NICE = 19
_SELLER_SCRIPT = """
import json
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.services import user_create
from market.services import sections_ensure
from stalls.services import seller_register, stall_create
sections_ensure(coordinates=[(0, 0)])
user = user_create(
    handle="streamer", email="s@example.com", password="bench-only-pw-1", verified=True
)
seller_register(user=user, legal_name="Sam Streamer", country="US")
stall = stall_create(
    user=user, name="Bench Stall", description="", section_x=0, section_y=0, slot=0
)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(json.dumps({"stall": stall.public_id, "cookie": settings.SESSION_COOKIE_NAME,
                  "session": session.session_key}))
"""


def _go_live(browser, base_url: str, seed: dict):
    context = browser.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": seed["cookie"], "value": seed["session"], "url": base_url}])
    page = context.new_page()
    page.add_init_script(PAGE_SCRIPT)
    page.goto(f"{base_url}/stalls/{seed['stall']}/")
    page.get_by_role("button", name="Go live").click()
    page.wait_for_function("() => document.querySelector('[data-show-preview]').videoWidth > 0")
    page.get_by_label("Show title").fill("Bench show")
    return page


def measure(args, workdir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from shows.media.janus_server import config_write, janus_argv

    janus_port = free_port()
    janus_url = f"http://127.0.0.1:{janus_port}/janus"
    env = server_env(
        database_url=f"sqlite:///{workdir / 'bench.sqlite3'}", media_root=workdir / "media"
    )
    env.update(
        SHOWS_MEDIA="janus",
        JANUS_API_URL=janus_url,
        JANUS_PUBLIC_URL=janus_url,
        JANUS_TOKEN_SECRET="bench-only-janus-secret",
        BAZAAR_DEMO_MARKET="0",
    )
    migrate(env)
    seed = django_json(_SELLER_SCRIPT, env=env)
    # JANUS_RTP_PORT_RANGE keeps Janus's media ports apart from others' on a shared host.
    rtp = {"rtp_port_range": env["JANUS_RTP_PORT_RANGE"]} if "JANUS_RTP_PORT_RANGE" in env else {}
    config = config_write(
        workdir / "janus", token_secret=env["JANUS_TOKEN_SECRET"], http_port=janus_port, **rtp
    )
    with (workdir / "janus.log").open("wb") as log:
        janus = subprocess.Popen(janus_argv(config), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(janus_port, janus)
        with (
            daphne_process(env=env, log_path=workdir / "daphne.log") as (base_url, _),
            sync_playwright() as playwright,
        ):
            # Three browsers: the seller's, the viewers' (all of them in the first
            # rounds), and one for the entrants of the round where the viewers' browser
            # stands for their own devices (launched now, at normal priority).
            browsers = {
                name: launch(playwright, CHROMIUM, CHROMIUM_ARGS)
                for name in ("viewers", "seller", "entering")
            }
            try:
                return _run(args, browsers, base_url, seed, janus)
            finally:
                for browser, _ in browsers.values():
                    browser.close()
    finally:
        janus.terminate()
        janus.wait(timeout=10)


def _enter(browser, url: str, count: int, every: float, already: int) -> dict:
    """`count` viewers walk into the stall, one every `every` seconds (0: all at once),
    each staying; every entry's first frame (from its navigation's start, timed by its
    own page) with its steps. Designs alternate entry by entry, sizes every other pair:
    each design gets both sizes and the same moments of the run."""
    load = load_average()
    designs = [DESIGNS[index % 2] for index in range(count)]
    pages = []
    began = time.monotonic()
    for index, design in enumerate(designs):
        time.sleep(max(0.0, began + index * every - time.monotonic()))
        size = PHONE if index // 2 % 2 == 0 else DESKTOP
        pages.append(viewer(browser, url, size, design, wait=False))
    deadline = time.monotonic() + FIRST_FRAME_WAIT_S
    firsts = [first_frame(page, "__firstFrameMs", deadline) for page in pages]
    timelines = [timeline(page) for page in pages]
    entries = [
        {
            "entry": index + 1,
            "design": design,
            "watching_already": already + (index if every else 0),
            "first_frame_ms": round(first, 1) if first is not None else None,
            "steps_ms": {step: round(at, 1) for step, at in ordered(steps)},
        }
        for index, (design, first, steps) in enumerate(zip(designs, firsts, timelines, strict=True))
    ]
    with_frame = [
        (entry, t)
        for entry, t in zip(entries, timelines, strict=True)
        if entry["first_frame_ms"] is not None
    ]
    by_design = {
        name: {
            "enter_to_first_frame_ms": median_p95_ms(
                [e["first_frame_ms"] / 1000 for e, _ in with_frame if e["design"] == name]
            ),
            **step_costs([t for e, t in with_frame if e["design"] == name]),
        }
        for name in DESIGNS
    }
    progress(
        "  enter -> first frame: "
        + ", ".join(f"{e['design']} {e['first_frame_ms']}" for e in entries)
    )
    return {
        "pages": pages,
        "every_s": every,
        "load_average_before": load,
        "load_average_after": load_average(),
        "enter_to_first_frame_ms": median_p95_ms(
            [e["first_frame_ms"] / 1000 for e, _ in with_frame]
        ),
        "entered_with_a_frame": f"{len(with_frame)}/{count}",
        "by_design": by_design,
        "design_ratio_p95": ratio(
            by_design[DESIGNS[0]]["enter_to_first_frame_ms"].get("p95_ms"),
            by_design[DESIGNS[1]]["enter_to_first_frame_ms"].get("p95_ms"),
        ),
        "entries": entries,
    }


def _one_by_one(browser, url: str, count: int, every: float, frames) -> dict:
    """`count` viewers enter one at a time (the product's page, a desktop window), each
    alone in entering: it is timed to its first frame, then leaves before the next
    comes in, one every `every` s. Meanwhile the others keep watching (`frames()`: the
    frames each has decoded so far): how many of them decoded frames over the whole
    round is part of the figure."""
    load = load_average()
    before = frames()
    firsts, timelines = [], []
    began = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, began + index * every - time.monotonic()))
        page = viewer(browser, url, DESKTOP, wait=False)
        first = first_frame(page, "__firstFrameMs")
        if first is not None:
            firsts.append(first / 1000)
            timelines.append(timeline(page))
        page.context.close()
    seconds = time.monotonic() - began
    # A watcher whose count fell reconnected meanwhile (a new peer connection counts
    # from 0): its frames are the new connection's.
    decoded = [
        end - start if end >= start else end for start, end in zip(before, frames(), strict=True)
    ]
    progress(f"  enter -> first frame: {[round(first * 1000) for first in firsts]}")
    return {
        "load_average_before": load,
        "load_average_after": load_average(),
        "enter_to_first_frame_ms": median_p95_ms(firsts),
        "entered_with_a_frame": f"{len(firsts)}/{count}",
        "watchers_decoding": f"{sum(1 for n in decoded if n > 0)}/{len(decoded)}",
        "watchers_frames_per_second": {
            "median": round(statistics.median(decoded) / seconds, 1),
            "least": round(min(decoded) / seconds, 1),
        },
        "entries": [
            {
                "first_frame_ms": round(first * 1000, 1),
                "steps_ms": {step: round(at, 1) for step, at in ordered(steps)},
            }
            for first, steps in zip(firsts, timelines, strict=True)
        ],
        **step_costs(timelines),
    }


def _page_frames(pages: list):
    return lambda: [inbound(page)["frames"] for page in pages]


def _keyframes(before: dict, after: dict) -> dict:
    """Keyframe requests the publisher received and keyframes it sent, by layer."""
    return {
        rid: {
            "plis_received": row["plis"] - before.get(rid, row)["plis"],
            "keyframes_sent": row["keyframes"] - before.get(rid, row)["keyframes"],
        }
        for rid, row in after.items()
    }


def _browserless(browser, url: str, count: int, args, seller) -> dict:
    """`count` watchers without a browser (bench/_rtc_watchers: real subscribers on the
    SFU, each decoding the 480p layer, in one process), placed as --own-devices says (as
    the round before places the watchers' browser), and --fair-entries viewers entering
    one by one: a shopper's first frame with as many decoding subscribers, without as
    many chromium renderers on this machine's CPU."""
    with watching(url, count) as watchers:
        joined = sum(1 for state in watchers["ready"] if state["frames"] > 0)
        progress(f"  {joined}/{count} watchers without a browser decoding")
        with _placed(watchers["pid"], args.own_devices) as placement:
            time.sleep(2)
            cpu, began = cpu_seconds(watchers["pid"]), time.monotonic()
            keyframes_before = outbound(seller)
            fair = _one_by_one(
                browser,
                url,
                args.fair_entries,
                args.enter_every,
                lambda: [state["frames"] for state in watchers["states"]()],
            )
            cpu = (cpu_seconds(watchers["pid"]) - cpu) / (time.monotonic() - began)
            publisher_keyframes = _keyframes(keyframes_before, outbound(seller))
        states = watchers["states"]()
    return {
        **fair,
        "watchers_placed": placement,
        "watchers_decoding_at_start": f"{joined}/{count}",
        "watchers_heights": sorted({state["height"] for state in states}),
        "watchers_errors": sorted({state["error"] for state in states if state["error"]}),
        "watchers_process_cpu_percent_of_one_core": round(100 * cpu, 1),
        "publisher_keyframes": publisher_keyframes,
    }


def _placed(pid: int, own_devices: str):
    """The watchers' process on a CPU of its own (core), at nice 19 (nice), or as it is."""
    if own_devices == "none":
        return nullcontext({"cpus": None, "fallback": "not confined: nice 0 on every CPU"})
    return confined(pid, WATCHERS_NICE, cpuset=own_devices == "core")


def _run(args, browsers: dict, base_url: str, seed: dict, janus) -> dict:
    stall_url = f"{base_url}/stalls/{seed['stall']}/"
    browser = browsers["viewers"][0]
    seller = _go_live(browsers["seller"][0], base_url, seed)
    waiting = viewer(browser, stall_url, DESKTOP)
    progress("going live")
    started_at = seller.evaluate("Date.now()")
    seller.get_by_role("button", name="Start show").click()
    seller.locator("[data-show-live]").wait_for(state="visible", timeout=30_000)
    first_at = first_frame(waiting, "__firstFrameAt")
    go_live_s = (first_at - started_at) / 1000 if first_at else None

    progress(f"baseline: {args.alone} entering alone; one watching for {args.baseline_seconds} s")
    alone = _one_by_one(browser, stall_url, args.alone, 1.0, _page_frames([waiting]))
    baseline = watch([waiting], args.baseline_seconds)[0]
    alone_ms = alone["enter_to_first_frame_ms"].get("median_ms")
    results = {
        "viewers": args.viewers,
        "rounds": args.rounds,
        "go_live_to_first_frame_s": round(go_live_s, 2) if go_live_s else None,
        "baseline": {"mbps": baseline["mbps"], "height": baseline["height"], "alone": alone},
        "ratios": {},
    }
    if args.rounds == "all":
        results.update(_browser_rounds(args, browsers, stall_url, seller, waiting, janus))
        results["ratios"] = _ratios(results, alone_ms)
    waiting.context.close()

    progress(
        f"{args.viewers - 1} watching without a browser; "
        f"{args.fair_entries} enter one by one, at normal priority"
    )
    browserless = _browserless(browsers["entering"][0], stall_url, args.viewers - 1, args, seller)
    results["watchers_without_a_browser"] = browserless
    results["ratios"]["without_a_browser_p95_vs_alone_median"] = ratio(
        browserless["enter_to_first_frame_ms"].get("p95_ms"), alone_ms
    )
    results["load_average"] = load_average()
    report(results, WATCHERS_NICE)
    return results


def _browser_rounds(args, browsers: dict, stall_url: str, seller, waiting, janus) -> dict:
    """The rounds whose watchers are chromium pages: walking in (then everybody watches
    for --seconds), all at once, and the watchers' browser confined."""
    browser, browser_pid = browsers["viewers"]
    entering = args.viewers - 1
    progress(f"{entering} viewers walking in, one every {args.enter_every} s")
    keyframes_before = outbound(seller)
    walking = _enter(browser, stall_url, entering, args.enter_every, already=1)
    publisher_keyframes = _keyframes(keyframes_before, outbound(seller))
    viewers = [waiting, *walking.pop("pages")]
    progress(f"watching for {args.seconds} s")
    janus_cpu = cpu_seconds(janus.pid)
    sent = outbound(seller)
    watched = watch(viewers, args.seconds)
    layers = publisher_layers(sent, outbound(seller), args.seconds)
    janus_cpu = cpu_seconds(janus.pid) - janus_cpu

    progress(f"they leave; {entering} enter all at once")
    for page in viewers[1:]:
        page.context.close()
    time.sleep(2)
    at_once = _enter(browser, stall_url, entering, 0.0, already=1)

    progress(
        f"{args.viewers - 1} watching on their own devices (their browser confined: "
        f"{args.own_devices}); {args.fair_entries} enter one by one, at normal priority"
    )
    # The waiting viewer and all but one of the others watch: with each entrant, as many
    # viewers as in the rounds before.
    *others, spare = at_once.pop("pages")
    spare.context.close()
    watchers = [waiting, *others]
    with _placed(browser_pid, args.own_devices) as confinement:
        time.sleep(2)
        fair = _one_by_one(
            browsers["entering"][0],
            stall_url,
            args.fair_entries,
            args.enter_every,
            _page_frames(watchers),
        )
        for page in watchers[1:]:
            page.context.close()
    fair["watchers_confined"] = confinement
    return {
        "seconds": args.seconds,
        "decoding": sum(1 for row in watched if row["frames"] > 0),
        "frames_decoded": [row["frames"] for row in watched],
        "bitrate_by_layer": by_layer(watched),
        "mean_mbps_per_viewer": round(sum(row["mbps"] for row in watched) / len(watched), 3),
        "sfu_cpu_percent_of_one_core": round(100 * janus_cpu / args.seconds, 1),
        "publisher_layers": layers,
        "walking_in": walking,
        "all_at_once": at_once,
        "watchers_on_their_own_devices": fair,
        "publisher_keyframes_while_walking_in": publisher_keyframes,
    }


def _ratios(results: dict, alone_ms: float | None) -> dict:
    baseline = results["baseline"]
    return {
        "mbps_per_viewer_vs_baseline_on_its_layer": ratio(
            results["bitrate_by_layer"].get(f"{baseline['height']}p", {}).get("mean_mbps"),
            baseline["mbps"],
        ),
        **{
            f"{name}_p95_vs_alone_median": ratio(
                results[key]["enter_to_first_frame_ms"].get("p95_ms"), alone_ms
            )
            for name, key in (
                ("walking_in", "walking_in"),
                ("all_at_once", "all_at_once"),
                ("own_devices", "watchers_on_their_own_devices"),
            )
        },
    }


def _parser() -> argparse.ArgumentParser:
    parser = parser_for(__doc__)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="viewing window (the issue's run: 60)"
    )
    parser.add_argument("--baseline-seconds", type=float, default=4.0)
    parser.add_argument(
        "--alone", type=int, default=3, help="viewers entering alone, one after another"
    )
    parser.add_argument(
        "--fair-entries",
        type=int,
        default=5,
        help="viewers entering one by one while the others watch on their own devices",
    )
    parser.add_argument(
        "--own-devices",
        choices=("core", "nice", "none"),
        default="core",
        help="the watchers in the last two rounds (their browser, or their process without "
        "one): on a CPU of their own (a cpuset; nice 19 without root or cgroup v1), at nice "
        "19 on every CPU, or as they are (nice 0 on every CPU)",
    )
    parser.add_argument(
        "--enter-every",
        type=float,
        default=2.0,
        help="seconds between viewers walking in (the all-at-once round follows anyway)",
    )
    parser.add_argument(
        "--rounds",
        choices=("all", "browserless"),
        default="all",
        help="all: every round; browserless: go live, alone, then only the round whose "
        "watchers have no browser",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("janus") is None or not os.path.exists(CHROMIUM):
        _parser().error("needs Debian's janus and chromium (apt-get install janus chromium)")

    def run(_started: float) -> dict:
        with tempfile.TemporaryDirectory(prefix="bazaar-video-") as tmp:
            return measure(args, Path(tmp))

    return bench_main(run)


if __name__ == "__main__":
    sys.exit(main())
