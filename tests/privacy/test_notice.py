"""The privacy notice: linked from every page, saying what is kept and for how long with
the figures the market runs on, and the read edition in a person's own export."""

import json

from django.test import override_settings
from django.urls import reverse

NOTICE = reverse("privacy:notice")


@override_settings(ANALYTICS_RETENTION_DAYS=21, SIGN_IN_RECORDS_DAYS=60)
def test_the_notice_says_what_is_kept_and_for_how_long(client, db):
    page = client.get(NOTICE).content.decode()
    assert '<h1 id="privacy-title">Privacy: what we keep about you</h1>' in page
    assert "deleted after 60 days" in page  # sign-in records
    assert "deleted after 21 days, once added into daily totals" in page  # analytics
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
    ada.privacy_notice_version = "2026-12-07"
    ada.save()
    client.force_login(ada)
    export = json.loads(client.get(reverse("privacy:export")).content)
    assert export["account"]["privacy_notice_read"]["edition"] == "2026-12-07"
