"""bench/analytics.py's reading of `/ws/market/` frames."""

from bench.analytics import counts_in


def test_a_heat_frame_counts_people_by_section():
    frame = {"type": "heat", "at": 1, "sections": [[0, 0, 2], [1, -1, 1]]}
    assert counts_in(frame) == {(0, 0): 2, (1, -1): 1}


def test_other_frames_count_nothing_and_a_batch_counts_its_last_heat_frame():
    assert counts_in({"type": "stall_live", "stall": "x", "live": True}) == {}
    batch = {
        "type": "batch",
        "frames": [
            {"type": "heat", "at": 1, "sections": [[0, 0, 1]]},
            {"type": "heat", "at": 2, "sections": [[2, 0, 3]]},
        ],
    }
    assert counts_in(batch) == {(2, 0): 3}
