"""Refusing to serve on a deploy error, and the staging site's test-mode banner."""

import pytest
from django.test import override_settings

from bazaar import deploy
from bazaar.celery import refuse_if_undeployable as worker_refuses_if_undeployable
from bazaar.checks import redis_configured

UNDEPLOYABLE = {
    "DEPLOY_CHECKS_AT_START": True,
    "REDIS_URL": "",
    "JOBS_BACKEND": "embedded",
    "PAYMENT_GATEWAY": "test",
    "BAZAAR_STAGING": False,
}


def test_production_without_redis_is_refused():
    with override_settings(REDIS_URL="", JOBS_BACKEND="embedded"):
        assert [error.id for error in redis_configured(None)] == ["bazaar.E001"]
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/0", JOBS_BACKEND="celery"):
        assert redis_configured(None) == []


def test_a_production_worker_refuses_to_start_like_the_server():
    with override_settings(**UNDEPLOYABLE), pytest.raises(SystemExit) as refused:
        worker_refuses_if_undeployable()
    reasons = str(refused.value)
    assert "bazaar.E001: REDIS_URL is not set" in reasons
    assert "orders.E001: Payments would take play money" in reasons


def test_other_settings_never_run_the_checks_at_start():
    with override_settings(**{**UNDEPLOYABLE, "DEPLOY_CHECKS_AT_START": False}):
        deploy.refuse_if_undeployable()  # the embedded market serves as before


PAGES = ["/", "/search/", "/accounts/login/", "/cart/"]


@pytest.mark.parametrize("path", PAGES)
def test_a_staging_site_says_test_mode_on_every_page(client, db, path):
    with override_settings(BAZAAR_STAGING=True):
        page = client.get(path, follow=True).content.decode()
    assert '<p class="banner test-mode-banner" role="note">' in page
    assert "Test mode: no real money." in page


def test_a_real_site_shows_no_test_mode_banner(client, db, make_user):
    client.force_login(make_user())
    assert "test-mode-banner" not in client.get("/", follow=True).content.decode()
