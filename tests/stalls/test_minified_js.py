"""The stall page serves static/js/stall-room.min.js, bundled from the ES modules in
static/js/stall-room/ by scripts/build_stall_room.sh (Node is not needed to run the
market): it must be built from the modules as they are now, and from all of them."""

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static" / "js"
MODULES = STATIC / "stall-room"
MAX_MODULE_LINES = 500


def sources_sha256() -> str:
    """What scripts/build_stall_room.sh records: the sha256 of the modules' manifest, one
    "<sha256>  <file name>" line per module, by file name."""
    manifest = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(MODULES.glob("*.js"), key=lambda path: path.name)
    )
    return hashlib.sha256(manifest.encode()).hexdigest()


def test_the_minified_stall_room_is_built_from_the_current_modules():
    banner = (STATIC / "stall-room.min.js").read_text().splitlines()[0]
    built_from = re.search(r"sources sha256 ([0-9a-f]{64})", banner)
    assert built_from, "stall-room.min.js lost its banner: run scripts/build_stall_room.sh"
    assert built_from.group(1) == sources_sha256(), (
        "static/js/stall-room/ changed since stall-room.min.js was built: "
        "run scripts/build_stall_room.sh and commit the modules with the bundle and its map"
    )


def test_every_module_is_in_the_bundle_and_its_map():
    source_map = json.loads((STATIC / "stall-room.min.js.map").read_text())
    bundled = {Path(source).name for source in source_map["sources"]}
    modules = {path.name for path in MODULES.glob("*.js")}
    assert "main.js" in modules
    assert modules - bundled == set(), "modules that nothing imports: remove them"
    assert bundled == modules


def test_no_javascript_module_is_over_500_lines():
    """Built bundles (*.min.js) are exempt; vendored ones live in static/vendor/."""
    sources = [path for path in STATIC.rglob("*.js") if not path.name.endswith(".min.js")]
    assert MODULES / "main.js" in sources
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in sources
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these into modules of at most {MAX_MODULE_LINES} lines"


ESBUILD = ROOT / "frontend" / "node_modules" / ".bin" / "esbuild"


@pytest.mark.skipif(
    not (shutil.which("node") and ESBUILD.exists()), reason="needs Node.js and npm ci in frontend/"
)
def test_rebuilding_gives_the_committed_bytes():
    """The build is deterministic: a fresh build matches the committed bundle and map."""
    script = ROOT / "scripts" / "build_stall_room.sh"
    check = subprocess.run([script, "--check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
