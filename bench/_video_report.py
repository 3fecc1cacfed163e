"""bench/video.py's printed report: each round's figures, in the order they ran."""

from bench._video_pages import DESIGNS


def report(results: dict, watchers_nice: int) -> None:
    """Every round's figures, as bench/video.py's human-readable output."""
    if "walking_in" in results:
        _browser_rounds(results, watchers_nice)
    _alone(results)
    _browserless(results["watchers_without_a_browser"], watchers_nice)
    print(f"ratios: {results['ratios']}   load average {results['load_average']}")


def _browser_rounds(results: dict, watchers_nice: int) -> None:
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
    own = results["watchers_on_their_own_devices"]
    where = _where(own["watchers_confined"], watchers_nice)
    print(
        f"enter -> first frame, the others watching on their own devices (load "
        f"{own['load_average_before']} -> {own['load_average_after']}): "
        f"{own['enter_to_first_frame_ms']} ms ({own['entered_with_a_frame']} entrants; "
        f"watchers decoding meanwhile: {own['watchers_decoding']}, frames/s each "
        f"{own['watchers_frames_per_second']})\n"
        f"  models: each watcher decodes on a device of its own, so its decoding may not "
        f"take CPU from the servers or the entrant; here their browser runs {where}, "
        f"the entrant's at nice 0 on any CPU. The figures above are unchanged: every "
        f"browser at nice 0 on every CPU.\n"
        f"  {_steps_line(own)}"
    )


def _where(placement: dict, watchers_nice: int) -> str:
    """Where the watchers ran (bench/_browsers.confined's answer, or none asked for)."""
    if placement["cpus"] is not None:
        return (
            f"on CPU {placement['cpus']} alone ({placement['processes_confined']} processes "
            f"in a cpuset of their own)"
        )
    if "processes_reniced" not in placement:
        return f"at nice 0 on every CPU ({placement['fallback']})"
    return (
        f"at nice {watchers_nice} on every CPU ({placement['fallback']}; "
        f"{placement['processes_reniced']} processes)"
    )


def _alone(results: dict) -> None:
    print(f"go live -> first frame (a waiting viewer): {results['go_live_to_first_frame_s']} s")
    alone = results["baseline"]["alone"]
    print(
        f"enter -> first frame, one viewer alone ({alone['entered_with_a_frame']}; load "
        f"{alone['load_average_before']} -> {alone['load_average_after']}): "
        f"{alone['enter_to_first_frame_ms']} ms; {_steps_line(alone)}"
    )


def _browserless(round_: dict, watchers_nice: int) -> None:
    print(
        f"enter -> first frame, the others watching without a browser (load "
        f"{round_['load_average_before']} -> {round_['load_average_after']}): "
        f"{round_['enter_to_first_frame_ms']} ms ({round_['entered_with_a_frame']} entrants; "
        f"watchers decoding at the start: {round_['watchers_decoding_at_start']}, meanwhile: "
        f"{round_['watchers_decoding']}, frames/s each {round_['watchers_frames_per_second']},"
        f" frame heights {round_['watchers_heights']}; their process "
        f"{round_['watchers_process_cpu_percent_of_one_core']} % of one core)\n"
        f"  models: the others are real subscribers on the SFU, each decoding its video "
        f"(aiortc, libvpx), in one process without a browser's rendering and compositing "
        f"each, {_where(round_['watchers_placed'], watchers_nice)}; the entrant is a "
        f"chromium page at nice 0 on any CPU.\n"
        f"  {_steps_line(round_)}"
    )
    print(f"  publisher meanwhile: {round_['publisher_keyframes']}")
    for number, entry in enumerate(round_["entries"], start=1):
        steps = " ".join(f"{step} {at:.0f}" for step, at in entry["steps_ms"].items())
        print(f"    #{number} {entry['first_frame_ms']} ms | {steps}")
    if round_["watchers_errors"]:
        print(f"  watchers' errors: {round_['watchers_errors']}")


def _steps_line(costs: dict) -> str:
    steps = costs["steps"]
    line = " ".join(
        f"{step} {row['median_ms']:.0f}/{row['p95_ms']:.0f}" for step, row in steps.items()
    )
    return f"{line}; asked for a keyframe: {costs['viewer_asked_for_keyframe']}"
