"""The privacy notice: linked from every page, saying what is kept and for how long with
the figures the market runs on, and the read edition in a person's own export."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.services import privacy_notice_acknowledge

NOTICE = reverse("privacy:notice")


@override_settings(ANALYTICS_RETENTION_DAYS=21, SIGN_IN_RECORDS_DAYS=60, CHAT_RETENTION_DAYS=400)
def test_the_notice_says_what_is_kept_and_for_how_long(client, db):
    page = client.get(NOTICE).content.decode()
    assert '<h1 id="privacy-title">Privacy: what we keep about you</h1>' in page
    assert "deleted after 60 days" in page  # sign-in records
    assert "deleted after 21 days, once added into daily totals" in page  # analytics
    assert "deleted 400 days after they were written" in page  # stall chat
    for link in ("privacy:export", "privacy:delete", "account:hub"):
        assert f'href="{reverse(link)}"' in page


def test_every_page_links_to_the_notice(client, make_user):
    for path in ("/", "/accounts/login/", "/accounts/signup/"):
        assert f'<a href="{NOTICE}">Privacy: what we keep about you</a>' in (
            client.get(path).content.decode()
        )
    client.force_login(make_user("ada"))
    assert f'href="{NOTICE}"' in client.get(reverse("account:hub")).content.decode()


def test_the_export_says_which_notice_was_read(client, make_user):
    ada = make_user("ada")
    privacy_notice_acknowledge(user=ada, version="2026-12-07")
    client.force_login(ada)
    export = json.loads(client.get(reverse("privacy:export")).content)
    assert export["account"]["privacy_notice_read"]["edition"] == "2026-12-07"


SEEN = reverse("privacy:notice_seen")
BANNER = '<div class="banner notice-due">'


@pytest.mark.parametrize("debug", [False, True])
def test_an_account_that_saw_an_older_edition_is_told_on_every_page_until_it_says_so(
    client, make_user, settings, debug
):
    settings.DEBUG = debug
    ada = make_user("ada")
    privacy_notice_acknowledge(user=ada, version="2026-12-07")
    settings.PRIVACY_NOTICE_VERSION = "2027-03-01"
    client.force_login(ada)
    for path in ("/", reverse("account:hub"), NOTICE):
        page = client.get(path).content.decode()
        assert "We updated our privacy notice on 1 March 2027" in page
        assert f'<a href="{NOTICE}">Read the privacy notice</a>' in page
    page_path = reverse("account:hub")

    response = client.post(SEEN, {"next": page_path})

    assert response.status_code == 302 and response["Location"] == page_path
    ada.refresh_from_db()
    assert ada.privacy_notice_version == "2027-03-01"
    page = client.get(page_path).content.decode()
    assert "We have noted that you have seen this edition." in page
    assert BANNER not in page and BANNER not in client.get("/").content.decode()


def test_an_account_opened_before_sign_up_asked_is_asked_to_read_it_once(client, make_user):
    ada = make_user("ada")  # no edition recorded, as accounts from before the notice
    client.force_login(ada)
    page = client.get("/").content.decode()
    assert "Please take a minute to read our privacy notice" in page
    before = timezone.now()

    client.post(SEEN, {"next": "/"})

    ada.refresh_from_db()
    assert ada.privacy_notice_version == settings.PRIVACY_NOTICE_VERSION
    assert before <= ada.privacy_notice_read_at <= timezone.now()
    export = json.loads(client.get(reverse("privacy:export")).content)
    assert export["account"]["privacy_notice_read"]["edition"] == settings.PRIVACY_NOTICE_VERSION


def test_visitors_and_accounts_that_saw_this_edition_get_no_banner(client, make_user):
    assert BANNER not in client.get("/").content.decode()
    ada = make_user("ada")
    privacy_notice_acknowledge(user=ada, version=settings.PRIVACY_NOTICE_VERSION)
    client.force_login(ada)
    assert BANNER not in client.get("/").content.decode()


def test_got_it_goes_back_only_to_a_page_of_ours_and_needs_a_post_and_an_account(client, make_user):
    assert client.post(SEEN)["Location"].startswith(reverse("accounts:login"))
    client.force_login(make_user("ada"))
    assert client.get(SEEN).status_code == 405
    assert client.post(SEEN, {"next": "https://evil.example/"})["Location"] == NOTICE
    assert client.post(SEEN, {"next": "//evil.example/"})["Location"] == NOTICE


def test_the_notice_gives_its_edition_as_a_date(client, db, settings):
    settings.PRIVACY_NOTICE_VERSION = "2027-03-01"
    assert "This edition is dated 1 March 2027" in client.get(NOTICE).content.decode()


def test_the_banner_kept_by_the_process_has_each_pages_address_and_token(make_user):
    """Its markup is remembered per edition seen: the Got it form still goes back to
    the page it is on and carries that request's CSRF token, and each kind of account
    keeps its own words."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("ada"))  # never read it
    hub = reverse("account:hub")
    home_page, hub_page = client.get("/").content.decode(), client.get(hub).content.decode()
    form = re.compile(
        rf'<form method="post" action="{SEEN}"><input type="hidden" '
        r'name="csrfmiddlewaretoken" value="([^"]+)"><input type="hidden" name="next" '
        r'value="([^"]*)">'
    )
    assert form.search(home_page)[2] == "/" and form.search(hub_page)[2] == hub
    assert "Please take a minute" in home_page and "Please take a minute" in hub_page

    response = client.post(SEEN, {"next": hub, "csrfmiddlewaretoken": form.search(hub_page)[1]})

    assert response.status_code == 302 and response["Location"] == hub
    bob = make_user("bob")
    privacy_notice_acknowledge(user=bob, version="2026-01-01")
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert "We updated our privacy notice on" in page and "Please take a minute" not in page
