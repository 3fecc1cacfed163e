"""The stall page serves static/js/stall-room.min.js, built from stall-room.js by
scripts/minify_js.sh (Node is not needed to run the market): it must be built from
the source as it is now."""

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"


def test_the_minified_stall_room_is_built_from_the_current_source():
    source = hashlib.sha256((STATIC / "stall-room.js").read_bytes()).hexdigest()
    banner = (STATIC / "stall-room.min.js").read_text().splitlines()[0]
    built_from = re.search(r"source sha256 ([0-9a-f]{64})", banner)
    assert built_from, "stall-room.min.js lost its banner: rebuild it with scripts/minify_js.sh"
    assert built_from.group(1) == source, (
        "static/js/stall-room.js changed since stall-room.min.js was built: "
        "run scripts/minify_js.sh and commit both"
    )
    assert (STATIC / "stall-room.min.js.map").exists()
