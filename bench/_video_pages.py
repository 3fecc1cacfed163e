"""bench/video.py's side in the browser: the script every page carries (its peer
connections, its first frame and the steps to it), viewers entering a stall, and what
their pages and the publisher's report (frames, bytes, layers, keyframe requests)."""

import statistics
import time

from bench._report import median_p95_ms

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# How long a page is given for its first frame (entering viewers: after the last entered).
FIRST_FRAME_WAIT_S = 15.0

# Every peer connection a page makes, and when its video showed a first frame.
PAGE_SCRIPT = """
    window.__pcs = [];
    const mark = (step) => {
        if (!performance.getEntriesByName(`show:${step}`).length) performance.mark(`show:${step}`);
    };
    const NativePC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends NativePC {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
            // DTLS done, as this browser sees it (Janus's "webrtcup" comes by long poll).
            this.addEventListener('connectionstatechange', () => {
                if (this.connectionState === 'connected') mark('dtls');
            });
        }
    };
    // Captured at the document: the page may show its first frame before it is parsed.
    document.addEventListener('loadeddata', (event) => {
        if (window.__firstFrameMs !== undefined || !event.target.matches('[data-show-video]'))
            return;
        window.__firstFrameMs = performance.now();
        window.__firstFrameAt = Date.now();
    }, { capture: true });
    // When the first frame's packets had all arrived (the frame callback's receiveTime):
    // asked for as the stream is set, before any frame.
    document.addEventListener('loadstart', (event) => {
        const video = event.target;
        if (!video.matches('[data-show-video]') || !video.requestVideoFrameCallback) return;
        video.requestVideoFrameCallback((now, frame) => {
            if (frame.receiveTime !== undefined && window.__receivedMs === undefined)
                window.__receivedMs = frame.receiveTime;
        });
    }, { capture: true });
    // Whether this browser had to ask for a keyframe itself (its PLIs and FIRs up to
    // the first decoded frame).
    const watchPackets = setInterval(async () => {
        for (const pc of window.__pcs) {
            (await pc.getStats()).forEach((s) => {
                if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
                if (!(s.framesDecoded > 0)) return;
                window.__asked = { pli: s.pliCount || 0, fir: s.firCount || 0 };
                clearInterval(watchPackets);
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
        if (window.__receivedMs !== undefined) steps.received = window.__receivedMs;
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


def inbound(page) -> dict:
    rows = page.evaluate("window.__rtp ? window.__rtp('inbound-rtp') : []")
    return {
        "bytes": sum(row["bytes"] for row in rows),
        "frames": sum(row["frames"] for row in rows),
        "height": max((row["height"] for row in rows), default=0),
    }


def first_frame(page, key: str, deadline: float | None = None) -> float | None:
    """The page's first-frame time, waiting until `deadline` (monotonic) at most, and read
    at least once: entrants are read one after another, and on a busy machine the wait
    for the first ones used to run past the deadline before the later ones, which had
    their frames, were looked at (they counted as entrants without a frame)."""
    if deadline is None:
        deadline = time.monotonic() + FIRST_FRAME_WAIT_S
    while True:
        value = page.evaluate(f"window.{key}")
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(0.05)


def timeline(page) -> dict:
    """The page's steps (none if its document never arrived)."""
    return page.evaluate("window.__timeline ? window.__timeline() : { steps: {}, asked: null }")


def ordered(timeline: dict) -> list[tuple[str, float]]:
    """The page's steps in the order they happened (the page's own start of the show may
    come before its parse ends), each with its time since the navigation began, in ms."""
    return sorted(timeline["steps"].items(), key=lambda step: step[1])


def step_costs(timelines: list[dict]) -> dict:
    """Median and p95 of each step's own cost (from the step before it in time), in ms,
    and how many first frames followed a keyframe request by the viewer's browser."""
    costs: dict[str, list[float]] = {}
    for timeline in timelines:
        previous = 0.0
        for step, at in ordered(timeline):
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


def watch(viewers: list, seconds: float) -> list[dict]:
    """Sample each viewer at the start and end of the window."""
    before = [inbound(page) for page in viewers]
    time.sleep(seconds)
    after = [inbound(page) for page in viewers]
    return [
        {
            "frames": end["frames"] - start["frames"],
            "mbps": round((end["bytes"] - start["bytes"]) * 8 / seconds / 1e6, 3),
            "height": end["height"],
        }
        for start, end in zip(before, after, strict=True)
    ]


def viewer(browser, url: str, viewport: dict, design: str = DESIGNS[0], *, wait: bool = True):
    """A viewer entering the stall (a browser context of its own: a shopper of its own,
    with its own visitor id); without `wait`, back as soon as the page answers, or after
    30 s without an answer (an entrant on a machine that busy: it counts as one without a
    frame unless its page still comes)."""
    from playwright.sync_api import TimeoutError as NoAnswer

    page = browser.new_context(viewport=viewport).new_page()
    page.add_init_script(PAGE_SCRIPT)
    if design == "stage starts":
        page.add_init_script(STAGE_STARTS)
    try:
        page.goto(url, wait_until="load" if wait else "commit")
    except NoAnswer:
        if wait:
            raise
    return page


def outbound(page) -> dict:
    return {row["rid"]: row for row in page.evaluate("window.__rtp('outbound-rtp')")}


def publisher_layers(before: dict, after: dict, seconds: float) -> list[dict]:
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


def by_layer(watched: list[dict]) -> dict:
    """Mean bitrate per viewer for each received frame height."""
    layers: dict[int, list[float]] = {}
    for viewer in watched:
        layers.setdefault(viewer["height"], []).append(viewer["mbps"])
    return {
        f"{height}p": {"viewers": len(rates), "mean_mbps": round(sum(rates) / len(rates), 3)}
        for height, rates in sorted(layers.items())
    }
