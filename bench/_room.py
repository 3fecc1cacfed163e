"""The coordinator's side of bench/stall_room.py: one room measured through the client
workers (bench/_room_sockets.py), and its figures set against the baseline server's.

A `Target` is a server to measure: where its stall socket is, which process to charge
CPU time to, and the signed-in sessions its publishers use (none for the baseline,
which signs nobody in).
"""

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._report import load_average, merge_counts, ms, percentile, progress, ratio
from bench._room_sockets import (
    ACK,
    LATENCY,
    LISTENER,
    RATE_MESSAGES,
    RATE_SECONDS,
    SUSTAIN,
)
from bench._servers import cpu_seconds
from bench._workers import Worker, gather_calls, spread

CLIENT_SCRIPT = Path(__file__).resolve().parent / "_room_sockets.py"


@dataclass
class Target:
    """One server under measurement and the sessions its publishers sign in with."""

    label: str
    paced: bool
    # Where the server listens and which process it is: set once it runs.
    socket_url: str = ""
    origin: str = ""
    server_pid: int | None = None
    cookie: str = ""
    latency_keys: list = field(default_factory=list)
    sustain_keys: list = field(default_factory=list)


async def measure(target: Target, n: int, args: argparse.Namespace) -> dict:
    started = time.monotonic()
    workers = [await Worker.start(CLIENT_SCRIPT) for _ in range(args.workers)]
    try:
        result = {"n": n, "loadavg_1min": [load_average()]}
        if await connect_room(workers, target, n, args, result):
            settle = await gather_calls(workers, "quiet", seconds=0.5, limit=60)
            result["settle_seconds"] = max(s["waited"] for s in settle)
            result["latency"] = await latency_rounds(workers, target, n, args)
            if target.sustain_keys and args.seconds > 0:
                result["sustained"] = await sustained_chat(workers, target, n, args)
            result["loadavg_1min"].append(load_average())
        result["elapsed_s"] = round(time.monotonic() - started, 1)
        return result
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))


async def connect_room(
    workers: list[Worker], target: Target, n: int, args: argparse.Namespace, result: dict
) -> bool:
    """N listeners, then the publishers; False if nobody can be measured."""
    # The latency publishers live on worker 0; listeners and sustained publishers are
    # dealt round-robin, so each worker holds a like share of both.
    listener_plans = spread([[LISTENER, None]] * n, len(workers))
    sustain_plans = spread([[SUSTAIN, key] for key in target.sustain_keys], len(workers))
    latency_plan = [[LATENCY, key] for key in target.latency_keys]
    connect = {
        "url": target.socket_url,
        "origin": target.origin,
        "cookie": target.cookie,
        "concurrency": max(1, args.concurrency // len(workers)),
        "timeout": args.connect_timeout,
        "retries": args.retries,
    }
    progress(f"  {target.label} N={n}: connecting {n} listeners")
    joined = await gather_calls(
        workers, "connect", per_worker=lambda i: {"plan": listener_plans[i]}, **connect
    )
    result["listeners_connected"] = sum(j["connected"] for j in joined)
    result["listeners_failed"] = sum(j["failed"] for j in joined)
    result["refused_attempts"] = sum(j["refused_attempts"] for j in joined)
    result["join_seconds"] = max(j["seconds"] for j in joined)
    progress(
        f"  {target.label} N={n}: {result['listeners_connected']} joined in "
        f"{result['join_seconds']:.1f} s; connecting {len(latency_plan) + len(target.sustain_keys)}"
        " publishers"
    )
    published = await gather_calls(
        workers,
        "connect",
        per_worker=lambda i: {"plan": sustain_plans[i] + (latency_plan if i == 0 else [])},
        **connect,
    )
    result["publishers_failed"] = sum(p["failed"] for p in published)
    result["refused_attempts"] += sum(p["refused_attempts"] for p in published)
    errors = merge_counts(j["errors"] for j in joined + published)
    result["publishers_connected"] = sum(p["connected"] for p in published)
    result["connect_errors"] = errors
    if errors:
        progress(f"  {target.label} N={n}: connections refused: {errors}")
    return result["listeners_connected"] > 0 and published[0]["by_role"][LATENCY] > 0


async def latency_rounds(
    workers: list[Worker], target: Target, n: int, args: argparse.Namespace
) -> dict:
    """One chat message at a time: how long until each listener has it."""
    progress(f"  {target.label} N={n}: {args.rounds} latency rounds")
    per_round = []
    for number in range(args.rounds):
        await gather_calls(workers, "arm")
        sent = await workers[0].call("publish", number=number, text=f"latency round {number}")
        firsts = await gather_calls(workers, "collect", timeout=args.round_timeout)
        arrivals = [t for f in firsts for t in f["first"]]
        got = [t - sent["sent_at"] for t in arrivals if t is not None]
        per_round.append(
            {
                "received": len(got),
                "missing": len(arrivals) - len(got),
                "acked": sent["ack"].startswith(ACK),
                "p50_ms": ms(statistics.median(got)) if got else None,
                "p95_ms": ms(percentile(got, 0.95)) if got else None,
                "max_ms": ms(max(got)) if got else None,
            }
        )
        await asyncio.sleep(args.round_gap)
    complete = [r for r in per_round if r["p95_ms"] is not None]

    def median_over_rounds(key: str) -> float | None:
        return statistics.median(r[key] for r in complete) if complete else None

    return {
        "rounds": len(per_round),
        "p50_ms": median_over_rounds("p50_ms"),
        "p95_ms": median_over_rounds("p95_ms"),
        "max_ms": median_over_rounds("max_ms"),
        "worst_max_ms": max(r["max_ms"] for r in complete) if complete else None,
        "missing": sum(r["missing"] for r in per_round),
        "per_round": per_round,
    }


async def sustained_chat(
    workers: list[Worker], target: Target, n: int, args: argparse.Namespace
) -> dict:
    """P publishers chatting for --seconds: messages per second reaching each listener."""
    await gather_calls(workers, "quiet", seconds=0.5, limit=20)
    progress(f"  {target.label} N={n}: sustained chat for {args.seconds:g} s")
    window = args.seconds - args.warmup
    start_at = time.perf_counter() + 0.3
    server_cpu = None
    if target.server_pid:

        async def server_cpu_in_window() -> float:
            await asyncio.sleep(max(0.0, start_at + args.warmup - time.perf_counter()))
            before = cpu_seconds(target.server_pid)
            await asyncio.sleep(max(0.0, start_at + args.seconds - time.perf_counter()))
            return cpu_seconds(target.server_pid) - before

        server_cpu = asyncio.create_task(server_cpu_in_window())
    sustained = await gather_calls(
        workers,
        "sustain",
        start_at=start_at,
        warmup=args.warmup,
        seconds=args.seconds,
        paced=target.paced,
    )
    if server_cpu is not None:
        server_cpu = await server_cpu
    drained = await gather_calls(workers, "drain", seconds=1.0, limit=args.drain_limit)
    counts = [c for s in sustained for c in s["window_counts"]]
    acked = sum(s["acked"] for s in sustained)
    received = sum(c for d in drained for c in d["counts"])
    publishers = len(target.sustain_keys)
    offered_cap = publishers * RATE_MESSAGES / RATE_SECONDS if target.paced else None
    delivered = statistics.median(counts) / window if counts else 0.0
    all_frames = sum(d["doc_frames"] for d in drained)
    return {
        "publishers": publishers,
        "window_s": window,
        "sent": sum(s["sent"] for s in sustained),
        "acked": acked,
        "acked_per_s": round(sum(s["acked_in_window"] for s in sustained) / window, 1),
        "send_errors": merge_counts(s["errors"] for s in sustained),
        "messages_per_s": round(delivered, 1),
        "per_client_frames_per_s": {
            "p50": round(delivered, 1),
            "min": round(min(counts) / window, 1) if counts else 0,
            "max": round(max(counts) / window, 1) if counts else 0,
        },
        "server_frames_per_s": round(sum(s["window_frames_all"] for s in sustained) / window),
        "undelivered_after_drain": acked * len(counts) - received,
        "bytes_per_frame": round(sum(d["doc_bytes"] for d in drained) / max(all_frames, 1)),
        # Above 1 when the server batched doc updates into shared socket frames.
        "docs_per_socket_frame": round(
            all_frames / max(sum(d["socket_frames"] for d in drained), 1), 2
        ),
        "offered_cap_per_s": round(offered_cap, 1) if offered_cap else None,
        "rate_limit_bound": bool(offered_cap and delivered >= 0.9 * offered_cap),
        "server_cpu_s": round(server_cpu, 2) if server_cpu is not None else None,
        "client_cpu_s": [round(s["cpu_window"], 2) for s in sustained],
    }


# Servers


def summarise(n: int, runs: dict[str, dict]) -> dict:
    """Each daphne configuration against the baseline at the same N."""
    base = runs.get("baseline")
    ratios = {}
    for label, run in runs.items():
        if label == "baseline" or base is None:
            continue
        entry = {}
        if run.get("latency", {}).get("p95_ms") and base.get("latency", {}).get("p95_ms"):
            for key in ("p50_ms", "p95_ms", "max_ms"):
                entry[f"latency_{key[:-3]}_x"] = ratio(run["latency"][key], base["latency"][key], 1)
        if run.get("sustained") and base.get("sustained"):
            ours, theirs = run["sustained"], base["sustained"]
            if theirs["messages_per_s"]:
                entry["throughput_pct_of_baseline"] = ratio(
                    100 * ours["messages_per_s"], theirs["messages_per_s"], 1
                )
                entry["rate_limit_bound"] = ours["rate_limit_bound"]
        ratios[label] = entry
    return ratios


def print_table(n: int, runs: dict[str, dict], ratios: dict) -> None:
    print(f"\nN = {n} listeners in one stall")
    print(
        f"  {'server':<11}{'joined':>8}{'join s':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'msgs/s':>9}{'frames/s':>10}{'undeliv':>8}{'srv cpu':>9}{'cli cpu':>12}"
    )
    for label, run in runs.items():
        latency = run.get("latency") or {}
        sustained = run.get("sustained") or {}

        def cell(value, width, fmt="{:.1f}"):
            return f"{fmt.format(value) if value is not None else '-':>{width}}"

        print(
            f"  {label:<11}{run.get('listeners_connected', 0):>8}"
            f"{cell(run.get('join_seconds'), 8)}{cell(latency.get('p50_ms'), 9)}"
            f"{cell(latency.get('p95_ms'), 9)}{cell(latency.get('max_ms'), 9)}"
            f"{cell(sustained.get('messages_per_s'), 9)}"
            f"{cell(sustained.get('server_frames_per_s'), 10, '{:.0f}')}"
            f"{cell(sustained.get('undelivered_after_drain'), 8, '{:.0f}')}"
            f"{cell(sustained.get('server_cpu_s'), 9)}"
            f"{'/'.join(str(c) for c in sustained.get('client_cpu_s', [])) or '-':>12}"
        )
        if run.get("connect_errors"):
            for name, count in run["connect_errors"].items():
                print(f"      join refused {count} x {name}")
        if sustained.get("send_errors"):
            print(f"      chat refused: {sustained['send_errors']}")
        if sustained.get("rate_limit_bound"):
            print(
                f"      at the chat rate limit's cap ({sustained['offered_cap_per_s']} msgs/s "
                f"from {sustained['publishers']} authors): a lower bound"
            )
    for label, entry in ratios.items():
        parts = []
        if "latency_p95_x" in entry:
            parts.append(
                f"latency p50 {entry['latency_p50_x']}x, p95 {entry['latency_p95_x']}x, "
                f"max {entry['latency_max_x']}x the baseline"
            )
        if "throughput_pct_of_baseline" in entry:
            bound = " (rate-limit bound)" if entry["rate_limit_bound"] else ""
            parts.append(f"throughput {entry['throughput_pct_of_baseline']}%{bound}")
        print(f"  {label} / baseline: {'; '.join(parts) or '-'}")
    loads = sorted({x for run in runs.values() for x in run.get("loadavg_1min", [])})
    if loads:
        print(f"  machine load (1-min average, 2 cores) during these runs: {loads[0]}-{loads[-1]}")
    print("  aims: p95 < 100 ms at N = 500; throughput >= 40% of the baseline")
