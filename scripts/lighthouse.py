"""Lighthouse over the pages of the market: accessibility, best practices, SEO and
performance at the mobile preset, signed out and signed in.

An audit, not a benchmark (so it lives in scripts/, not bench/): one pass over every
page takes about seven minutes here.

    .venv/bin/python scripts/lighthouse.py                 # every page once
    .venv/bin/python scripts/lighthouse.py --runs 3        # medians of three runs per page
    .venv/bin/python scripts/lighthouse.py --only stall    # pages whose label contains "stall"

Starts daphne on a fresh SQLite market (the one the accessibility walk uses:
tests/browser/crawl.py) with DEBUG off and the static files collected, as production
serves them. Each page is opened by the first role that can open it; signed-in pages
get that role's session cookie in the browser's jar. Lighthouse 12 (pinned in
scripts/lighthouse/, the last line that runs on Node 20) is installed into
var/lighthouse/ on first use and drives Debian's chromium. Not a test: performance
moves with the machine's load, so quote medians of a few runs. Prints a table of the
four scores per page, the worst page per score, the audits that cost points, and one
line of JSON at the end. The aims: accessibility 100, best practices 100, SEO >= 95,
performance >= 90 on every page.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import (  # noqa: E402
    daphne,
    django_script,
    free_port,
    manage,
    server_env,
    wait_for_port,
)

PINS = ROOT / "scripts" / "lighthouse"
INSTALL = ROOT / "var" / "lighthouse"
LIGHTHOUSE = INSTALL / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
AIMS = {"performance": 90, "accessibility": 100, "best-practices": 100, "seo": 95}

_SEED = """
import json, django
django.setup()
from bazaar.celery import app
app.conf.task_always_eager = True  # no worker here: emails and checks run in place
from django.conf import settings
from tests.browser.conftest import session_key_for
from tests.browser.crawl import market_for_the_crawl
seeded = market_for_the_crawl()
print(json.dumps({
    "ids": {name: str(value) for name, value in seeded["ids"].items()},
    "cookie": settings.SESSION_COOKIE_NAME,
    "sessions": {role: session_key_for(user) for role, user in seeded["users"].items()},
}))
"""


def lighthouse_ready() -> Path:
    """npm ci the pinned Lighthouse into var/lighthouse when the pins changed."""
    lock = PINS / "package-lock.json"
    installed = INSTALL / "package-lock.json"
    current = installed.exists() and installed.read_bytes() == lock.read_bytes()
    if not (LIGHTHOUSE.exists() and current):
        INSTALL.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PINS / name, INSTALL / name)
        print("Installing Lighthouse into var/lighthouse ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=INSTALL, check=True
        )
    return LIGHTHOUSE


def lighthouse(url: str, *, cookie: str | None, out: Path, attempts: int = 3) -> dict:
    """One Lighthouse run at the mobile preset (its default); the report as a dict.
    On a loaded machine a trace sometimes comes back broken ("run Lighthouse again"):
    it is, up to `attempts` times."""
    for _ in range(attempts - 1):
        try:
            return _lighthouse_once(url, cookie=cookie, out=out)
        except LighthouseRefused as refused:
            if "again" not in str(refused):
                raise
    return _lighthouse_once(url, cookie=cookie, out=out)


def _lighthouse_once(url: str, *, cookie: str | None, out: Path) -> dict:
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
    ]
    out.unlink(missing_ok=True)
    with chromium_with_cookie(url, cookie) as port:
        done = subprocess.run(
            [*command, f"--port={port}"],
            env={"CHROME_PATH": CHROMIUM, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
    if done.returncode:
        # Lighthouse audits no error page (a 404 answers "unable to reliably load").
        raise LighthouseRefused(done.stderr.strip().splitlines()[-1][:200])
    return json.loads(out.read_text())


@contextmanager
def chromium_with_cookie(url: str, cookie: str | None) -> Iterator[int]:
    """A fresh headless chromium (its own profile, as Lighthouse would launch) with the
    role's session cookie in its jar; yields its debugging port for Lighthouse. In the
    jar, not in an extra header: every request the page makes itself (the admin's
    script catalogue, the bell's WebSocket) then carries it, as a person's browser's do."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lighthouse-profile-") as profile:
        flags = [f"--remote-debugging-port={port}", f"--user-data-dir={profile}"]
        browser = subprocess.Popen(
            [CHROMIUM, *CHROME_FLAGS.split(), *flags, "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, browser, timeout=20)
            if cookie:
                _cookie_set(port, url, cookie)
            yield port
        finally:
            browser.terminate()
            browser.wait(timeout=10)


def _cookie_set(port: int, url: str, cookie: str) -> None:
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition("=")
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        site = urlsplit(url)._replace(path="/", query="", fragment="").geturl()
        browser.contexts[0].add_cookies([{"name": name, "value": value, "url": site}])


class LighthouseRefused(Exception):
    pass


def scores_of(report: dict) -> dict[str, int | None]:
    """0-100 per category; None where Lighthouse could not score it (a page that
    reloads itself mid-run has no performance score)."""
    scores = {name: report["categories"][name]["score"] for name in CATEGORIES}
    return {name: None if score is None else round(score * 100) for name, score in scores.items()}


def median_or_none(values: list[int | None]) -> float | None:
    scored = [value for value in values if value is not None]
    return statistics.median(scored) if scored else None


def costs_of(report: dict) -> dict[str, set[str]]:
    """Per category, the audits that did not pass in full (what holds the score down)."""
    costs: dict[str, set[str]] = {}
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and (audit["score"] is None or audit["score"] < 1):
                value = audit.get("displayValue") or ""
                costs.setdefault(name, set()).add(
                    f"{ref['id']} {value}{what_failed(audit)}".strip()
                )
    return costs


def what_failed(audit: dict) -> str:
    """The messages behind a console or deprecation finding, which name the culprit."""
    items = (audit.get("details") or {}).get("items") or []
    messages = {str(item.get("description") or item.get("value") or "")[:160] for item in items}
    return "".join(f" [{message}]" for message in sorted(messages) if message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page (medians)")
    parser.add_argument("--only", default="", help="only pages whose label contains this")
    args = parser.parse_args()
    from tests.browser.crawl import GUEST, PAGES

    lighthouse_ready()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        tmp = Path(tmp)
        env = server_env(database_url=f"sqlite:///{tmp / 'db.sqlite3'}", media_root=tmp / "media")
        env["PAYMENT_GATEWAY"] = "test"
        manage("migrate", "--noinput", "-v0", env=env)
        seeded = json.loads(django_script(_SEED, env=env).strip().splitlines()[-1])
        rows = []
        with daphne(env=env, log_path=tmp / "daphne.log") as base_url:
            seen = set()
            for page in PAGES:
                path = page.path.format(**seeded["ids"])
                role = page.roles[0]
                if page.then or args.only not in page.label or (path, role) in seen:
                    continue
                seen.add((path, role))
                session = seeded["sessions"].get(role)
                cookie = f"{seeded['cookie']}={session}" if session and role != GUEST else None
                try:
                    runs = [
                        lighthouse(f"{base_url}{path}", cookie=cookie, out=tmp / "report.json")
                        for _ in range(args.runs)
                    ]
                except LighthouseRefused as refused:
                    print(f"  {page.label} as {role}: not audited: {refused}", flush=True)
                    continue
                scores = {
                    name: median_or_none([scores_of(run)[name] for run in runs])
                    for name in CATEGORIES
                }
                costs = {}
                for run in runs:
                    for name, audits in costs_of(run).items():
                        costs.setdefault(name, set()).update(audits)
                row = {"page": page.label, "role": role, "path": path, **scores, "costs": costs}
                rows.append(row)
                print(f"  {page.label} as {role}: {scores}", flush=True)
    report(rows, runs=args.runs, seconds=time.monotonic() - started)


def report(rows: list[dict], *, runs: int, seconds: float) -> None:
    width = max(len(f"{row['page']} ({row['role']})") for row in rows)
    print(f"\nLighthouse 12.8.2, mobile preset, median of {runs} run(s) per page")
    print(f"{'page':<{width}}  perf  a11y  best   seo")
    for row in rows:
        label = f"{row['page']} ({row['role']})"
        cells = "  ".join(f"{'n/a' if row[name] is None else row[name]:>4}" for name in CATEGORIES)
        print(f"{label:<{width}}  {cells}")
    worst = {}
    for name in CATEGORIES:
        low = min(rows, key=lambda row: -1 if row[name] is None else row[name])
        worst[name] = {"page": low["page"], "role": low["role"], "score": low[name]}
        mark = "ok" if (low[name] or 0) >= AIMS[name] else f"below the aim of {AIMS[name]}"
        print(f"worst {name}: {low[name]} on {low['page']} ({low['role']}), {mark}")
    print("\nWhat costs points (pages below 100 in that category):")
    for row in rows:
        for name, audits in sorted(row["costs"].items()):
            if row[name] is None or row[name] < 100:
                print(f"  {row['page']} ({row['role']}) {name}: {', '.join(sorted(audits))}")
    summary = {
        "bench": "pages",
        "lighthouse": "12.8.2",
        "preset": "mobile",
        "runs": runs,
        "seconds": round(seconds, 1),
        "worst": worst,
        "pages": [{k: v for k, v in row.items() if k != "costs"} for row in rows],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
