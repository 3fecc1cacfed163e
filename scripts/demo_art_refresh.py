"""Refresh the demo market's drawings (stalls/demo_art/) from OpenMoji on npm.

    .venv/bin/python scripts/demo_art_refresh.py [--version 17.0.0]

OpenMoji's npm package ships SVGs only, and the seeding must not depend on an SVG
renderer, so this renders each drawing named in stalls/demo_art/sources.txt with
Debian's chromium (Playwright, as the browser tests use it) at 480 px, trims it to
its outline, reduces it to a 128-colour palette and writes stalls/demo_art/<slug>.png,
with OpenMoji's licence beside them. Needs npm and /usr/bin/chromium; run it only
when changing the set of drawings or OpenMoji's version (then update README.md).
"""

import argparse
import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ART_DIR = Path(__file__).resolve().parent.parent / "stalls" / "demo_art"
SIZE = 480
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def sources() -> list[tuple[str, str]]:
    rows = []
    for line in (ART_DIR / "sources.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            slug, hexcode, *_ = line.split()
            rows.append((slug, hexcode))
    return rows


def openmoji_package(version: str, folder: Path) -> tarfile.TarFile:
    subprocess.run(
        ["npm", "pack", f"openmoji@{version}", "--silent"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return tarfile.open(folder / f"openmoji-{version}.tgz")


def render(svgs: dict[str, str]) -> dict[str, bytes]:
    """Each SVG as a trimmed, palette PNG."""
    pngs = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": SIZE, "height": SIZE})
        for slug, svg in svgs.items():
            svg = svg.replace("<svg ", '<svg width="100%" height="100%" ', 1)
            page.set_content(
                f"<body style='margin:0'><div style='width:{SIZE}px;height:{SIZE}px'>"
                f"{svg}</div></body>"
            )
            image = Image.open(io.BytesIO(page.screenshot(omit_background=True)))
            image = image.crop(image.getbbox()).quantize(128, method=Image.Quantize.FASTOCTREE)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG", optimize=True)
            pngs[slug] = buffer.getvalue()
        browser.close()
    return pngs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--version", default="17.0.0", help="OpenMoji's npm version")
    version = parser.parse_args().version
    with tempfile.TemporaryDirectory() as folder:
        package = openmoji_package(version, Path(folder))
        read = lambda name: package.extractfile(f"package/{name}").read().decode()  # noqa: E731
        svgs = {slug: read(f"color/svg/{hexcode}.svg") for slug, hexcode in sources()}
        (ART_DIR / "LICENSE").write_text(read("LICENSE.txt"))
    for slug, png in render(svgs).items():
        (ART_DIR / f"{slug}.png").write_bytes(png)
    print(f"Wrote {len(svgs)} drawings from OpenMoji {version} to {ART_DIR}.")


if __name__ == "__main__":
    main()
