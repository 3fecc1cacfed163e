"""scripts/security_scan.py's choices: what wapiti is told, and that its exclusions
still name the site's destructive pages (a renamed URL would let the scan log itself
out or cancel the auctions it attacks next)."""

import importlib.util
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path

from tests.bazaar.test_csrf import every_view, path_for

_spec = importlib.util.spec_from_file_location(
    "security_scan", Path(__file__).resolve().parents[2] / "scripts" / "security_scan.py"
)
scan = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scan)


def site_paths() -> list[str]:
    """Every route of the URLconf as a path, with a sample value in each parameter."""
    return [path_for(route) for route, _ in every_view() if route is not None]


def excluded(path: str, patterns) -> bool:
    return any(fnmatchcase(path, "/" + pattern) for pattern in patterns)


def arguments(role: str, cookie_file: Path | None = None) -> list[str]:
    return scan.wapiti_arguments(
        base_url="https://127.0.0.1:8300",
        role=role,
        report=Path("/tmp/report.json"),
        state=Path("/tmp/state"),
        cookie_file=cookie_file,
        crawl_seconds=60,
        attack_seconds=12,
    )


def test_every_exclusion_and_start_page_is_still_a_page_of_the_site():
    paths = site_paths()
    patterns = [*scan.EXCLUDED, *scan.SIGNED_IN_EXCLUDED]
    unmatched = [pattern for pattern in patterns if not any(excluded(p, [pattern]) for p in paths)]
    assert not unmatched, f"no page of the site matches these exclusions: {unmatched}"
    starts = [page for pages in scan.ROLE_PAGES.values() for page in pages]
    assert not [page for page in starts if "/" + page not in paths]


def test_the_pages_that_end_the_session_or_destroy_seed_data_are_excluded():
    paths = site_paths()
    gone = [path for path in paths if excluded(path, scan.EXCLUDED)]
    assert "/accounts/logout/" in gone and "/account/delete/" in gone
    assert [path for path in gone if fnmatchcase(path, "/auctions/*/cancel")]
    assert not [path for path in gone if fnmatchcase(path, "/auctions/*/bids")]
    assert "/accounts/login/" not in gone


def given(arguments: list[str], option: str) -> list[str]:
    return [arguments[i + 1] for i, value in enumerate(arguments) if value == option]


def test_exclusions_and_start_pages_are_given_from_the_site_root():
    root = "https://127.0.0.1:8300/"
    assert given(arguments("visitor"), "--exclude") == [root + p for p in scan.EXCLUDED]
    assert given(arguments("visitor"), "--start")[0] == root + "accounts/login/"
    seller = arguments("demo_seller")
    assert root + "search/*" in given(seller, "--exclude")
    assert root + "accounts/logout/*" in given(seller, "--exclude")
    assert given(seller, "--start")[0] == root + "dashboard/stall/"


def test_signed_out_runs_the_server_wide_modules_and_signed_in_does_not():
    visitor = arguments("visitor")
    buyer = arguments("demo_buyer", cookie_file=Path("/tmp/cookies.json"))
    visitor_modules = next(a for a in visitor if a.startswith("--module="))
    buyer_modules = next(a for a in buyer if a.startswith("--module="))
    assert "brute_login_form" in visitor_modules and "brute_login_form" not in buyer_modules
    assert "xss" in buyer_modules and "csrf" in buyer_modules
    assert "--cookie" not in visitor
    assert buyer[buyer.index("--cookie") + 1] == "/tmp/cookies.json"


def test_requests_served_adds_up_the_request_histogram_by_status_class():
    metrics = "\n".join(
        [
            "# HELP bazaar_request_seconds Request duration",
            'bazaar_request_seconds_bucket{le="0.1",method="GET",route="home",status="2xx"} 3.0',
            'bazaar_request_seconds_count{method="GET",route="home",status="2xx"} 4.0',
            'bazaar_request_seconds_count{method="POST",route="cart",status="4xx"} 2.0',
            'bazaar_request_seconds_count{method="GET",route="item",status="2xx"} 1.0',
        ]
    )
    assert scan.requests_served(metrics) == Counter({"2xx": 5, "4xx": 2})
