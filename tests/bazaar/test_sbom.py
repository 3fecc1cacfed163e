"""`make sbom`'s bill of materials (OWASP ASVS V14.2.5) names every pinned package at
its pinned version, and the market itself as what it describes."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\[\]-]+?)(?:\[[^\]]*\])?==([^\s;#]+)")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if match := PIN.match(line.strip()):
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_the_bill_of_materials_lists_every_pin(tmp_path):
    out = tmp_path / "sbom.cdx.json"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "cyclonedx-py"),
            *("requirements", "requirements.txt", "--pyproject", "pyproject.toml"),
            *("--of", "JSON", "--output-reproducible", "-o", str(out)),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    bom = json.loads(out.read_text())
    listed = {
        re.sub(r"[-_.]+", "-", component["name"]).lower(): component["version"]
        for component in bom["components"]
    }
    assert listed == _pins()
    assert bom["metadata"]["component"]["name"] == "mesh-bazaar"
