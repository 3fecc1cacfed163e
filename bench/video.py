"""Live video benchmark: one seller publishing and N viewers watching a stall's show on
the embedded backend (Janus), in Debian's chromium with its fake camera.

    .venv/bin/python bench/video.py                      # 20 viewers (~3 min when quiet)
    .venv/bin/python bench/video.py --seconds 60         # the issue's 60 s run
    .venv/bin/python bench/video.py --viewers 5 --seconds 10

A fresh SQLite market with one stall, daphne serving it, and Janus configured by the
project (shows.media.janus_server). The seller's page goes live as a seller would
(Go live, title, Start show); the publisher sends VP8 simulcast, a high layer and a
480p layer. One viewer already waits in the stall when the show starts (go-live to
first frame). Baseline: one viewer entering alone, then that waiting viewer watching
for --baseline-seconds. Then the others walk in as shoppers do, one every
--enter-every seconds, while those already there keep watching; each entry is
reported with its first frame (from its navigation's start) and its steps in the
order they happened (page response and parse, the show's start, Janus session,
attach, offer, answer, ICE, DTLS up, first packet, first frame, from the client's
User Timing marks). Half the entrants use a phone-sized window (their player asks for
the 480p layer), half a desktop one. All watch for --seconds: frames decoded by each
viewer, the mean received bitrate per viewer by the layer it received, the SFU's CPU
(% of one core), the publisher's active simulcast layers. Last, they leave and as
many enter all at once: the worst case, a second figure (nothing hidden).

Each viewer is a browser context of its own (a shopper of its own: cookies, visitor
id) in one chromium process; chromium gives each page its own renderer, so an entering
page's scripts never queue behind the watchers' work in a shared renderer, which no
real shopper lives. Entering viewers alternate between two designs, reported side by
side in each round: "page starts" (the product: the page's head starts subscribing)
and "stage starts" (that start turned into a no-op, so stage.js subscribes after the
page's deferred scripts, as before). Ratios: bitrate per viewer with N viewers over
the baseline viewer's, each round's enter-to-first-frame p95 over the baseline
viewer's, and "page starts" p95 over "stage starts" p95. The machine is shared:
chromium's decoding of N videos is the CPU's limit, not Janus; the load average is
recorded before and after each round. Times are reported, never asserted. The last
line of output is JSON with every figure. BENCH_PORTS (e.g. 8300-8399) and
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._cli import bench_main, parser_for  # noqa: E402
from bench._report import load_average, median_p95_ms, progress, ratio  # noqa: E402
from bench._servers import (  # noqa: E402
    cpu_seconds,
    daphne_process,
    django_json,
    free_port,
    migrate,
    server_env,
    wait_for_port,
)

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
PHONE = {"width": 390, "height": 844}
# How long a page is given for its first frame (entering viewers: after the last entered).
FIRST_FRAME_WAIT_S = 15.0
DESKTOP = {"width": 1366, "height": 900}

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

# Every peer connection a page makes, and when its video showed a first frame.
PAGE_SCRIPT = """
    window.__pcs = [];
    const NativePC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends NativePC {
        constructor(...args) { super(...args); window.__pcs.push(this); }
    };
    // Captured at the document: the page may show its first frame before it is parsed.
    document.addEventListener('loadeddata', (event) => {
        if (window.__firstFrameMs !== undefined || !event.target.matches('[data-show-video]'))
            return;
        window.__firstFrameMs = performance.now();
        window.__firstFrameAt = Date.now();
    }, { capture: true });
    // When the first video packet arrived, and whether this browser had to ask for a
    // keyframe itself (its PLIs and FIRs up to the first decoded frame).
    const watchPackets = setInterval(async () => {
        for (const pc of window.__pcs) {
            (await pc.getStats()).forEach((s) => {
                if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
                if (s.packetsReceived > 0 && window.__firstPacketMs === undefined)
                    window.__firstPacketMs = performance.now();
                if (s.framesDecoded > 0) {
                    window.__asked = { pli: s.pliCount || 0, fir: s.firCount || 0 };
                    clearInterval(watchPackets);
                }
            });
        }
    }, 100);  // every 20 ms cost 19 entering pages measurable CPU on a loaded machine
    window.__timeline = () => {
        const steps = {};
        performance.getEntriesByType('mark').forEach((m) => {
            if (m.name.startsWith('show:') && !(m.name.slice(5) in steps))
                steps[m.name.slice(5)] = m.startTime;
        });
        const nav = performance.getEntriesByType('navigation')[0];
        if (nav) Object.assign(steps, { response: nav.responseEnd, parsed: nav.domInteractive });
        if (window.__firstPacketMs !== undefined) steps.packet = window.__firstPacketMs;
        return { steps, asked: window.__asked || null };
    };
    window.__rtp = async (type) => {
        const rows = [];
        for (const pc of window.__pcs) {
            if (pc.connectionState === 'closed') continue;
            (await pc.getStats()).forEach((s) => {
                if (s.type === type && s.kind === 'video') rows.push({
                    rid: s.rid || null, bytes: s.bytesSent || s.bytesReceived || 0,
                    frames: s.framesDecoded || s.framesEncoded || 0,
                    width: s.frameWidth || 0, height: s.frameHeight || 0,
                    active: s.active === undefined ? true : s.active,
                    plis: (s.pliCount || 0) + (s.firCount || 0),
                    keyframes: s.keyFramesEncoded || s.keyFramesDecoded || 0,
                });
            });
        }
        return rows;
    };
"""


def _inbound(page) -> dict:
    rows = page.evaluate("window.__rtp('inbound-rtp')")
    return {
        "bytes": sum(row["bytes"] for row in rows),
        "frames": sum(row["frames"] for row in rows),
        "height": max((row["height"] for row in rows), default=0),
    }


def _first_frame(page, key: str, deadline: float | None = None) -> float | None:
    """The page's first-frame time, waiting until `deadline` (monotonic) at most."""
    deadline = deadline or time.monotonic() + FIRST_FRAME_WAIT_S
    while time.monotonic() < deadline:
        value = page.evaluate(f"window.{key}")
        if value is not None:
            return value
        time.sleep(0.05)
    return None


def _timeline(page) -> dict:
    return page.evaluate("window.__timeline()")


def _ordered(timeline: dict) -> list[tuple[str, float]]:
    """The page's steps in the order they happened (the page's own start of the show may
    come before its parse ends), each with its time since the navigation began, in ms."""
    return sorted(timeline["steps"].items(), key=lambda step: step[1])


def _step_costs(timelines: list[dict]) -> dict:
    """Median and p95 of each step's own cost (from the step before it in time), in ms,
    and how many first frames followed a keyframe request by the viewer's browser."""
    costs: dict[str, list[float]] = {}
    for timeline in timelines:
        previous = 0.0
        for step, at in _ordered(timeline):
            costs.setdefault(step, []).append((at - previous) / 1000)
            previous = at
    at_by_step: dict[str, list[float]] = {}
    for timeline in timelines:
        for step, at in timeline["steps"].items():
            at_by_step.setdefault(step, []).append(at)
    order = {step: statistics.median(times) for step, times in at_by_step.items()}
    steps = {
        step: {k: v for k, v in median_p95_ms(costs[step]).items() if k != "n"}
        for step in sorted(costs, key=lambda name: order.get(name, 0))
    }
    asked = sum(1 for t in timelines if t["asked"] and t["asked"]["pli"] + t["asked"]["fir"])
    return {"steps": steps, "viewer_asked_for_keyframe": f"{asked}/{len(timelines)}"}


def _watch(viewers: list, seconds: float) -> list[dict]:
    """Sample each viewer at the start and end of the window."""
    before = [_inbound(page) for page in viewers]
    time.sleep(seconds)
    after = [_inbound(page) for page in viewers]
    return [
        {
            "frames": end["frames"] - start["frames"],
            "mbps": round((end["bytes"] - start["bytes"]) * 8 / seconds / 1e6, 3),
            "height": end["height"],
        }
        for start, end in zip(before, after, strict=True)
    ]


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


# The two ways a viewer's page connects, measured side by side: "page starts" (the
# product: the stall page carries the viewer's Janus client and starts subscribing as
# the stage is parsed) and "stage starts" (the same page with that start turned into a
# no-op, so stage.js subscribes once the page's deferred scripts have run, as before).
DESIGNS = ("page starts", "stage starts")
STAGE_STARTS = """
    Object.defineProperty(window, 'BazaarJanusViewer', {
        configurable: true,
        set(viewer) {
            viewer.start = () => {};
            Object.defineProperty(window, 'BazaarJanusViewer', { value: viewer, writable: true });
        },
    });
"""


def _viewer(browser, url: str, viewport: dict, design: str = DESIGNS[0], *, wait: bool = True):
    """A viewer entering the stall (a browser context of its own: a shopper of its own,
    with its own visitor id); without `wait`, back as soon as the page answers."""
    page = browser.new_context(viewport=viewport).new_page()
    page.add_init_script(PAGE_SCRIPT)
    if design == "stage starts":
        page.add_init_script(STAGE_STARTS)
    page.goto(url, wait_until="load" if wait else "commit")
    return page


def _outbound(page) -> dict:
    return {row["rid"]: row for row in page.evaluate("window.__rtp('outbound-rtp')")}


def _publisher_layers(before: dict, after: dict, seconds: float) -> list[dict]:
    """Each simulcast layer the publisher sent over the window: size, bitrate, active."""
    layers = []
    for row in after.values():
        sent = row["bytes"] - before.get(row["rid"], {"bytes": 0})["bytes"]
        layers.append(
            {
                "rid": row["rid"],
                "size": f"{row['width']}x{row['height']}",
                "mbps": round(sent * 8 / seconds / 1e6, 3),
                "active": row["active"] and sent > 0,
            }
        )
    return sorted(layers, key=lambda layer: layer["rid"] or "")


def _by_layer(watched: list[dict]) -> dict:
    """Mean bitrate per viewer for each received frame height."""
    layers: dict[int, list[float]] = {}
    for viewer in watched:
        layers.setdefault(viewer["height"], []).append(viewer["mbps"])
    return {
        f"{height}p": {"viewers": len(rates), "mean_mbps": round(sum(rates) / len(rates), 3)}
        for height, rates in sorted(layers.items())
    }


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
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                return _run(args, browser, base_url, seed, janus)
            finally:
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
        pages.append(_viewer(browser, url, size, design, wait=False))
    deadline = time.monotonic() + FIRST_FRAME_WAIT_S
    firsts = [_first_frame(page, "__firstFrameMs", deadline) for page in pages]
    timelines = [_timeline(page) for page in pages]
    entries = [
        {
            "entry": index + 1,
            "design": design,
            "watching_already": already + (index if every else 0),
            "first_frame_ms": round(first, 1) if first is not None else None,
            "steps_ms": {step: round(at, 1) for step, at in _ordered(timeline)},
        }
        for index, (design, first, timeline) in enumerate(
            zip(designs, firsts, timelines, strict=True)
        )
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
            **_step_costs([t for e, t in with_frame if e["design"] == name]),
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


def _run(args, browser, base_url: str, seed: dict, janus) -> dict:
    stall_url = f"{base_url}/stalls/{seed['stall']}/"
    seller = _go_live(browser, base_url, seed)
    waiting = _viewer(browser, stall_url, DESKTOP)
    progress("going live")
    started_at = seller.evaluate("Date.now()")
    seller.get_by_role("button", name="Start show").click()
    seller.locator("[data-show-live]").wait_for(state="visible", timeout=30_000)
    first_at = _first_frame(waiting, "__firstFrameAt")
    go_live_s = (first_at - started_at) / 1000 if first_at else None

    progress(f"baseline: one viewer for {args.baseline_seconds} s")
    baseline_enter = _viewer(browser, stall_url, DESKTOP)
    baseline_first = _first_frame(baseline_enter, "__firstFrameMs")
    baseline_steps = _step_costs([_timeline(baseline_enter)])
    baseline = _watch([waiting], args.baseline_seconds)[0]
    baseline_enter.context.close()

    entering = args.viewers - 1
    progress(f"{entering} viewers walking in, one every {args.enter_every} s")
    keyframes_before = _outbound(seller)
    walking = _enter(browser, stall_url, entering, args.enter_every, already=1)
    keyframes_after = _outbound(seller)
    publisher_keyframes = {
        rid: {
            "plis_received": row["plis"] - keyframes_before.get(rid, row)["plis"],
            "keyframes_sent": row["keyframes"] - keyframes_before.get(rid, row)["keyframes"],
        }
        for rid, row in keyframes_after.items()
    }
    viewers = [waiting, *walking.pop("pages")]
    progress(f"watching for {args.seconds} s")
    janus_cpu = cpu_seconds(janus.pid)
    sent = _outbound(seller)
    watched = _watch(viewers, args.seconds)
    layers = _publisher_layers(sent, _outbound(seller), args.seconds)
    janus_cpu = cpu_seconds(janus.pid) - janus_cpu

    progress(f"they leave; {entering} enter all at once")
    for page in viewers[1:]:
        page.context.close()
    time.sleep(2)
    at_once = _enter(browser, stall_url, entering, 0.0, already=1)
    for page in at_once.pop("pages"):
        page.context.close()

    decoding = sum(1 for viewer in watched if viewer["frames"] > 0)
    by_layer = _by_layer(watched)
    mean_mbps = sum(viewer["mbps"] for viewer in watched) / len(watched)
    baseline_ms = round(baseline_first, 1) if baseline_first else None
    results = {
        "viewers": args.viewers,
        "seconds": args.seconds,
        "decoding": decoding,
        "frames_decoded": [viewer["frames"] for viewer in watched],
        "bitrate_by_layer": by_layer,
        "mean_mbps_per_viewer": round(mean_mbps, 3),
        "sfu_cpu_percent_of_one_core": round(100 * janus_cpu / args.seconds, 1),
        "publisher_layers": layers,
        "go_live_to_first_frame_s": round(go_live_s, 2) if go_live_s else None,
        "walking_in": walking,
        "all_at_once": at_once,
        "publisher_keyframes_while_walking_in": publisher_keyframes,
        "baseline": {
            "mbps": baseline["mbps"],
            "height": baseline["height"],
            "enter_to_first_frame_ms": baseline_ms,
            "enter_steps_ms": baseline_steps["steps"],
        },
        "ratios": {
            "mbps_per_viewer_vs_baseline_on_its_layer": ratio(
                by_layer.get(f"{baseline['height']}p", {}).get("mean_mbps"), baseline["mbps"]
            ),
            "walking_in_p95_vs_baseline": ratio(
                walking["enter_to_first_frame_ms"].get("p95_ms"), baseline_ms
            ),
            "all_at_once_p95_vs_baseline": ratio(
                at_once["enter_to_first_frame_ms"].get("p95_ms"), baseline_ms
            ),
        },
        "load_average": load_average(),
    }
    _print(results)
    return results


def _print(results: dict) -> None:
    print(
        f"\n{results['decoding']}/{results['viewers']} viewers decoding over {results['seconds']} s"
    )
    print(f"frames decoded per viewer: {results['frames_decoded']}")
    for layer, row in results["bitrate_by_layer"].items():
        print(f"  {layer:>6}: {row['viewers']:>2} viewers, {row['mean_mbps']} Mbps mean each")
    print(f"SFU (Janus) CPU: {results['sfu_cpu_percent_of_one_core']} % of one core")
    for layer in results["publisher_layers"]:
        print(
            f"  publisher layer {layer['rid']}: {layer['size']} {layer['mbps']} Mbps "
            f"{'active' if layer['active'] else 'inactive'}"
        )
    print(f"go live -> first frame (a waiting viewer): {results['go_live_to_first_frame_s']} s")
    baseline = results["baseline"]
    print(
        f"enter -> first frame, one viewer alone: {baseline['enter_to_first_frame_ms']} ms; "
        + " ".join(
            f"{step} {row['median_ms']:.0f}" for step, row in baseline["enter_steps_ms"].items()
        )
    )
    for title, key in (("walking in", "walking_in"), ("all at once", "all_at_once")):
        phase = results[key]
        every = f"one every {phase['every_s']} s" if phase["every_s"] else "together"
        print(
            f"enter -> first frame, {title} ({every}; load {phase['load_average_before']}"
            f" -> {phase['load_average_after']}): {phase['enter_to_first_frame_ms']} ms "
            f"({phase['entered_with_a_frame']} viewers)"
        )
        for design, row in phase["by_design"].items():
            print(f"  {design}: {row['enter_to_first_frame_ms']} ms; {_steps_line(row)}")
        print(f"  p95 {DESIGNS[0]} / {DESIGNS[1]}: {phase['design_ratio_p95']}")
        if key == "walking_in":
            for entry in phase["entries"]:
                steps = " ".join(f"{step} {at:.0f}" for step, at in entry["steps_ms"].items())
                print(
                    f"    #{entry['entry']:>2} {entry['design']:<12} "
                    f"({entry['watching_already']:>2} watching): "
                    f"{entry['first_frame_ms']} ms | {steps}"
                )
    print(f"  publisher while they walked in: {results['publisher_keyframes_while_walking_in']}")
    print(f"ratios: {results['ratios']}   load average {results['load_average']}")


def _steps_line(costs: dict) -> str:
    steps = costs["steps"]
    line = " ".join(
        f"{step} {row['median_ms']:.0f}/{row['p95_ms']:.0f}" for step, row in steps.items()
    )
    return f"{line}; asked for a keyframe: {costs['viewer_asked_for_keyframe']}"


def _parser() -> argparse.ArgumentParser:
    parser = parser_for(__doc__)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="viewing window (the issue's run: 60)"
    )
    parser.add_argument("--baseline-seconds", type=float, default=4.0)
    parser.add_argument(
        "--enter-every",
        type=float,
        default=2.0,
        help="seconds between viewers walking in (the all-at-once round follows anyway)",
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
