"""Scan the running market with wapiti (Debian's), signed out and signed in.

    .venv/bin/python scripts/security_scan.py                      # about 12 minutes
    .venv/bin/python scripts/security_scan.py --roles visitor --attack-seconds 10
    .venv/bin/python scripts/security_scan.py --out var/security-scan/today

A security audit, not a test (too slow for CI). Serves the market as production does,
on a fresh PostgreSQL database of its own (dropped at the end) with the Redis of
REDIS_URL: the production settings (DEBUG off, the deploy checks at start), gunicorn
with a uvicorn worker through `bazaar.serve`, a Celery worker, and TLS on the web
process itself with a throwaway self-signed certificate, so that HSTS, the `Secure`
cookies and Django's HTTPS-only CSRF checks are all in play without a proxy. Play
money (`BAZAAR_STAGING=1`, the local test gateway). Seeds a small market
(`seed_market --sections 2 --stalls 2 --throwaway`) and scans it once per role: a visitor, the
demo buyer and the demo seller (their session cookies are made directly, as a log-in
would leave them). Pages that would end the session or destroy what the later
attacks need (log out, delete the account, forget the card, cancel an auction...)
are excluded (`EXCLUDED`).

Writes, per role, wapiti's JSON and HTML reports, its console log, and the requests
the server answered by status class (from its own /metrics), plus `summary.json` with
every finding and the server's and worker's logs. Prints a table of the findings.

Debian's wapiti 3.0.4 fails on Python 3.11 as soon as `-x` is given (a regular
expression with its flags at the end); it is run through a launcher that replaces that
one function (`_WAPITI_LAUNCHER`).
"""

import argparse
import json
import os
import secrets
import shutil
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._servers import (  # noqa: E402
    bench_database_name,
    clear_redis_cache,
    django_json,
    free_port,
    logged_process,
    manage,
    poll_until,
    postgres_database,
)

SYSTEM_PYTHON = "/usr/bin/python3"
ROLES = ("visitor", "demo_buyer", "demo_seller")
# wapiti's modules worth their time against this site (`wapiti --list-modules`). Left
# out: buster (31,545 guessed paths per directory, with no time limit between them),
# nikto (Debian ships it without its database, whose licence forbids the download),
# wapp (fingerprinting from a database downloaded at run time; finds no flaw).
MODULES = (
    "blindsql",
    "cookieflags",
    "crlf",
    "csp",
    "csrf",
    "exec",
    "file",
    "htaccess",
    "http_headers",
    "methods",
    "permanentxss",
    "redirect",
    "sql",
    "ssrf",
    "xss",
    "xxe",
)
# The same for everyone, so only signed out: files left beside pages (backups, CGI
# scripts) and guessing weak passwords at the log-in form.
VISITOR_MODULES = ("backup", "brute_login_form", "shellshock")
# Paths the crawler must neither follow nor submit (wapiti's wildcards, from the site's
# root), with why: each would end the scan's session or destroy seed data the attacks
# after it need.
EXCLUDED = {
    "accounts/logout/*": "ends the session",
    "admin/logout/*": "ends the session",
    "account/delete/*": "deletes the account",
    "account/password/*": "changes the password, which ends the session",
    "account/payments/card/forget/*": "forgets the buyer's saved card",
    "dashboard/stall/items/*/delete/*": "deletes the seller's items",
    "dashboard/stall/photos/*/delete/*": "deletes the seller's photos",
    "auctions/*/cancel*": "cancels the demo auctions",
    "giveaways/*/cancel*": "cancels a giveaway",
    "shows/*/end/*": "ends a live show",
}
# Signed in, the catalogue is the one the visitor's scan attacked: skipped, so that the
# time goes to the role's own forms, whose pages are crawled first.
SIGNED_IN_EXCLUDED = {
    "categories/*": "attacked signed out",
    "market/*": "attacked signed out",
    "search/*": "attacked signed out",
}
ROLE_PAGES = {
    # First, so that their forms are crawled before the per-directory cap fills up
    # with the same pages' `?next=` variants linked from everywhere else.
    "visitor": ("accounts/login/", "accounts/signup/", "accounts/password-reset/"),
    "demo_buyer": (
        "cart/",
        "checkout/",
        "offers/",
        "bids/",
        "orders/",
        "saved/",
        "account/",
        "account/email/",
        "account/payments/",
        "notifications/settings/",
    ),
    "demo_seller": (
        "dashboard/stall/",
        "dashboard/stall/items/",
        "dashboard/stall/offers/",
        "dashboard/stall/auctions/",
        "dashboard/stall/payouts/",
        "orders/selling/",
        "account/",
    ),
}
SEED = ("--sections", "2", "--stalls", "2", "--throwaway")

# Two fixes to Debian's wapiti 3.0.4, both made upstream since: it builds its `-x`
# patterns as "...\Z(?ms)", which Python 3.11 refuses (global flags not at the start);
# and its csrf module does not know Django's token field, so it reported every form as
# lacking a token without trying one (taught the name, it checks that a wrong token is
# refused).
_WAPITI_LAUNCHER = """
import re, sys
from wapitiCore.attack.mod_csrf import mod_csrf
from wapitiCore.net import crawler

mod_csrf.TOKEN_FORM_STRINGS.append("csrfmiddlewaretoken")

def wildcard_translate(pattern):
    return re.compile("(?ms)" + ".*".join(re.escape(part) for part in pattern.split("*")) + r"\\Z")

crawler.wildcard_translate = wildcard_translate
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"""

_SESSIONS = """
import json, sys
import django
django.setup()
from django.conf import settings
from accounts.models import User
from tests.browser.conftest import session_key_for
print(json.dumps({
    "cookie": settings.SESSION_COOKIE_NAME,
    "sessions": {
        handle: session_key_for(User.objects.get(handle=handle)) for handle in sys.argv[1:]
    },
}))
"""


def excluded_for(role: str) -> dict[str, str]:
    return EXCLUDED if role == "visitor" else {**EXCLUDED, **SIGNED_IN_EXCLUDED}


def modules_for(role: str) -> list[str]:
    return [*MODULES, *VISITOR_MODULES] if role == "visitor" else list(MODULES)


def wapiti_arguments(
    *,
    base_url: str,
    role: str,
    report: Path,
    state: Path,
    cookie_file: Path | None,
    crawl_seconds: int,
    attack_seconds: int,
) -> list[str]:
    """The crawl and attack run for one role: the whole site (`folder` from the root),
    the destructive paths excluded, each module stopped after `attack_seconds`."""
    root = base_url.rstrip("/") + "/"
    arguments = [
        "--url",
        root,
        "--scope",
        "folder",
        # "--module=" keeps a list wapiti would read as an option if it began with "-".
        f"--module={','.join(modules_for(role))}",
        "--depth",
        "4",
        "--max-links-per-page",
        "60",
        # Every page links to the log-in and sign-up pages with itself as `next`: a few
        # of each are enough, and the time goes to the other pages' forms instead.
        "--max-files-per-dir",
        "8",
        "--max-scan-time",
        str(crawl_seconds),
        "--max-attack-time",
        str(attack_seconds),
        "--timeout",
        "10",
        # What a browser on our pages sends: without it Django refuses every POST over
        # HTTPS before the view (CSRF: no Referer), and the attack never reaches the code.
        "--header",
        f"Referer: {root}",
        "--flush-session",
        "--store-session",
        str(state / "session"),
        "--store-config",
        str(state / "config"),
        "--no-bugreport",
        "--verbose",
        "1",
        "--format",
        "json",
        "--output",
        str(report),
    ]
    for path in ROLE_PAGES[role]:
        arguments += ["--start", root + path]
    for path in excluded_for(role):
        arguments += ["--exclude", root + path]
    if cookie_file:
        arguments += ["--cookie", str(cookie_file)]
    return arguments


def report_again_arguments(*, base_url: str, state: Path, html_dir: Path) -> list[str]:
    """The HTML report of the same findings: no crawl, no module, so no request."""
    return [
        "--url",
        base_url.rstrip("/") + "/",
        "--scope",
        "folder",
        "--skip-crawl",
        "--module=",
        "--store-session",
        str(state / "session"),
        "--store-config",
        str(state / "config"),
        "--no-bugreport",
        "--format",
        "html",
        "--output",
        str(html_dir),
    ]


def wapiti_cookie_file(path: Path, *, host: str, cookie: str, value: str) -> Path:
    """A session cookie in wapiti's JSON jar ({domain: {path: {name: attributes}}})."""
    attributes = {"value": value, "expires": None, "secure": True, "port": None, "version": 0}
    path.write_text(json.dumps({host: {"/": {cookie: attributes}}}))
    return path


def wapiti_version() -> str:
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", "from wapitiCore.main.wapiti import WAPITI_VERSION as v; print(v)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid two days, made by openssl."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def production_env(
    *, database_url: str, redis_url: str, folder: Path, port: int, key: Path, cert: Path
) -> dict[str, str]:
    """Production settings with play money, served over TLS by gunicorn itself."""
    env = dict(os.environ)
    env.pop("DJANGO_DEBUG", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bazaar.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        PASSWORD_PEPPERS=f"k1={secrets.token_urlsafe(36)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        BAZAAR_STAGING="1",
        PAYMENT_GATEWAY="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        MEDIA_ROOT=str(folder / "media"),
        PROMETHEUS_MULTIPROC_DIR=str(folder / "prometheus"),
        SITE_URL=f"https://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        GUNICORN_CMD_ARGS=f"--certfile {cert} --keyfile {key}",
    )
    (folder / "prometheus").mkdir(exist_ok=True)
    return env


def https_get(url: str, context: ssl.SSLContext) -> str:
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return response.read().decode()


def wait_until_up(base_url: str, context: ssl.SSLContext, processes: list) -> None:
    try:
        up = poll_until(lambda: https_get(f"{base_url}/healthz/", context), processes, 120, 0.5)
    except RuntimeError as exited:
        raise SystemExit(str(exited)) from exited
    if not up:
        raise SystemExit(f"the server did not answer {base_url}/healthz/ within 120 s")


def requests_served(metrics: str) -> Counter:
    """Requests answered so far by status class, from /metrics' request histogram."""
    counts = Counter()
    for line in metrics.splitlines():
        if line.startswith("bazaar_request_seconds_count{"):
            labels, value = line[len("bazaar_request_seconds_count{") :].rsplit("} ", 1)
            status = dict(part.split("=", 1) for part in labels.split(",")).get("status", '""')
            counts[status.strip('"')] += int(float(value))
    return counts


def findings_of(report: dict) -> list[dict]:
    """Every vulnerability, anomaly and additional of a wapiti JSON report, flat."""
    rows = []
    for kind in ("vulnerabilities", "anomalies", "additionals"):
        for category, found in report.get(kind, {}).items():
            for finding in found:
                rows.append(
                    {
                        "kind": kind,
                        "category": category,
                        "level": finding["level"],
                        "method": finding["method"],
                        "path": finding["path"],
                        "parameter": finding["parameter"],
                        "info": finding["info"],
                    }
                )
    return rows


def run_wapiti(arguments: list[str], *, log: Path) -> None:
    with log.open("a") as out:
        subprocess.run(
            [SYSTEM_PYTHON, "-c", _WAPITI_LAUNCHER, *arguments],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


def scan_role(
    role: str, *, base_url: str, out: Path, context: ssl.SSLContext, cookies: dict, args
) -> dict:
    state = out / "state" / role
    state.mkdir(parents=True, exist_ok=True)
    cookie_file = None
    if role != "visitor":
        cookie_file = wapiti_cookie_file(
            state / "cookies.json",
            host="127.0.0.1",
            cookie=cookies["cookie"],
            value=cookies["sessions"][role],
        )
    before = requests_served(https_get(f"{base_url}/metrics", context))
    began = time.monotonic()
    report = out / f"{role}.json"
    arguments = wapiti_arguments(
        base_url=base_url,
        role=role,
        report=report,
        state=state,
        cookie_file=cookie_file,
        crawl_seconds=args.crawl_seconds,
        attack_seconds=args.attack_seconds,
    )
    print(f"scanning as {role}...", flush=True)
    run_wapiti(arguments, log=out / f"{role}.log")
    seconds = time.monotonic() - began
    after = requests_served(https_get(f"{base_url}/metrics", context))
    html = out / f"{role}-html"
    shutil.rmtree(html, ignore_errors=True)
    run_wapiti(
        report_again_arguments(base_url=base_url, state=state, html_dir=html),
        log=out / f"{role}.log",
    )
    served = after - before
    return {
        "role": role,
        "modules": modules_for(role),
        "seconds": round(seconds),
        "requests": sum(served.values()),
        "requests_by_status": dict(sorted(served.items())),
        "signed_in_at_end": None
        if role == "visitor"
        else still_signed_in(base_url, context, cookies, role),
        **coverage(next((state / "session").glob("*.db"))),
        "findings": findings_of(json.loads(report.read_text())),
    }


def still_signed_in(base_url: str, context: ssl.SSLContext, cookies: dict, role: str) -> bool:
    """Whether the role's session survived its scan (the account page, not the log-in)."""
    request = urllib.request.Request(
        f"{base_url}/account/",
        headers={"Cookie": f"{cookies['cookie']}={cookies['sessions'][role]}"},
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return "/accounts/login/" not in response.url


def coverage(session_db: Path) -> dict:
    """From wapiti's session: pages and forms found and crawled, and how many of the
    crawled ones each module attacked before its time ran out."""
    with closing(sqlite3.connect(session_db)) as db:
        found = db.execute("SELECT COUNT(*) FROM paths WHERE evil = 0").fetchone()[0]
        crawled = db.execute(
            "SELECT COUNT(*) FROM paths WHERE evil = 0 AND http_status IS NOT NULL"
        ).fetchone()[0]
        attacked = db.execute(
            "SELECT module_name, COUNT(DISTINCT path_id) FROM attack_log GROUP BY module_name"
        ).fetchall()
    return {"found": found, "crawled": crawled, "attacked": dict(sorted(attacked))}


def print_table(results: list[dict]) -> None:
    print(f"\n{'role':<12} {'requests':>8} {'5xx':>4} {'secs':>5} {'crawled':>9}  findings")
    for result in results:
        errors = result["requests_by_status"].get("5xx", 0)
        count = len(result["findings"])
        role, requests, seconds = result["role"], result["requests"], result["seconds"]
        crawled = f"{result['crawled']}/{result['found']}"
        print(f"{role:<12} {requests:>8} {errors:>4} {seconds:>5} {crawled:>9}  {count}")
        print(f"{'':<12} attacked per module: {result['attacked']}")
        if result["signed_in_at_end"] is False:
            print(f"{'':<12} SIGNED OUT during the scan: later attacks ran as a visitor")
    print()
    for result in results:
        for finding in result["findings"]:
            where = f"{finding['method']} {finding['path']}"
            if finding["parameter"]:
                where += f" [{finding['parameter']}]"
            print(f"{result['role']:<12} {finding['category']}: {where}: {finding['info']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "security-scan")
    parser.add_argument("--roles", default=",".join(ROLES), help=f"some of {','.join(ROLES)}")
    parser.add_argument("--crawl-seconds", type=int, default=60, help="crawl time per role")
    parser.add_argument("--attack-seconds", type=int, default=15, help="time per module per role")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it) for a throwaway database",
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""), help="Redis URL")
    args = parser.parse_args()
    roles = [role for role in args.roles.split(",") if role]
    if unknown := set(roles) - set(ROLES):
        parser.error(f"unknown roles: {', '.join(sorted(unknown))}")
    if not args.redis:
        parser.error("production needs Redis: set REDIS_URL or pass --redis")
    out = args.out.resolve()
    (out / "state").mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(UTC)
    port = free_port()
    base_url = f"https://127.0.0.1:{port}"
    with ExitStack() as stack:
        database_url = stack.enter_context(
            postgres_database(args.postgres, bench_database_name("scan"))
        )
        key, cert = self_signed_certificate(out / "state")
        env = production_env(
            database_url=database_url,
            redis_url=args.redis,
            folder=out / "state",
            port=port,
            key=key,
            cert=cert,
        )
        stack.callback(clear_redis_cache, args.redis)
        print("migrating and seeding...", flush=True)
        manage("migrate", "--noinput", "-v0", env=env)
        manage("seed_market", *SEED, env=env)
        manage("collectstatic", "--noinput", "-v0", env=env)
        # Jobs a previous run queued in this Redis name users of its own dropped database.
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "bazaar", "purge", "--force"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        cookies = django_json(_SESSIONS, *[role for role in roles if role != "visitor"], env=env)
        web = stack.enter_context(
            logged_process(
                [
                    *(sys.executable, "-m", "bazaar.serve", "--server", "uvicorn"),
                    *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
                ],
                env=env,
                log_path=out / "server.log",
            )
        )
        worker = stack.enter_context(
            logged_process(
                [
                    *(sys.executable, "-m", "celery", "-A", "bazaar", "worker"),
                    *("--loglevel", "INFO", "--concurrency", "1"),
                ],
                env=env,
                log_path=out / "worker.log",
            )
        )
        context = ssl.create_default_context(cafile=str(cert))
        wait_until_up(base_url, context, [web, worker])
        results = [
            scan_role(role, base_url=base_url, out=out, context=context, cookies=cookies, args=args)
            for role in roles
        ]
    summary = {
        "date": started_at.isoformat(timespec="seconds"),
        "wapiti": wapiti_version(),
        "target": "bazaar.settings.production over TLS, gunicorn + 1 uvicorn worker, Celery",
        "seed": f"seed_market {' '.join(SEED)}",
        "excluded": EXCLUDED,
        "excluded_signed_in": SIGNED_IN_EXCLUDED,
        "start_pages": ROLE_PAGES,
        "crawl_seconds": args.crawl_seconds,
        "attack_seconds": args.attack_seconds,
        "results": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print_table(results)
    print(f"\nreports in {out}")


if __name__ == "__main__":
    main()
