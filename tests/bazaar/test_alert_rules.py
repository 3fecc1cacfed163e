"""deploy/prometheus/alerts.yml (OWASP ASVS V11.1.8): promtool finds the rules valid and
its unit test (alerts_test.yml) sees each alert fire on the series that should raise it;
every series they read is one /metrics exports; refusals are counted by kind."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from prometheus_client import REGISTRY

from bazaar.errors import RateLimited
from bazaar.ratelimit import Rate, rate_check
from tests.conftest import need

pytestmark = pytest.mark.django_db

RULES = Path(settings.BASE_DIR) / "deploy" / "prometheus"


def refusals(kind: str) -> float:
    return REGISTRY.get_sample_value("bazaar_refusals_total", {"kind": kind}) or 0.0


def test_promtool_finds_the_rules_valid_and_their_unit_test_passes():
    promtool = shutil.which("promtool")
    need(promtool is not None, "needs promtool (Debian's prometheus package)")
    checked = subprocess.run(
        [promtool, "check", "rules", "alerts.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_a_lockout_and_a_rate_limit_are_counted_as_refusals(client, make_user):
    make_user("marta")
    locked_before, limited_before = refusals("locked_out"), refusals("bench_kind")
    answers = [
        client.post(reverse("accounts:login"), {"username": "marta", "password": "no"})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [answer.status_code for answer in answers][-2:] == [200, 429]
    assert refusals("locked_out") == locked_before + 1
    with pytest.raises(RateLimited):
        for _ in range(2):
            rate_check("bench_kind", "ip:203.0.113.9", Rate(1, 60, "one a minute"))
    assert refusals("bench_kind") == limited_before + 1


def test_every_series_the_alerts_read_is_one_the_market_exports(client, make_user):
    make_user("marta")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": "marta", "password": "no"})
    client.get("/healthz/")
    page = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    exported = {line.split("{")[0].split(" ")[0] for line in page.splitlines() if line[:1] != "#"}

    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    read = {
        name
        for group in groups
        for rule in group["rules"]
        for name in re.findall(r"\bbazaar_[a-z_]+", rule["expr"])
    }
    assert read >= {"bazaar_refusals_total", "bazaar_request_seconds_count", "bazaar_jobs_queued"}
    assert read <= exported, read - exported
