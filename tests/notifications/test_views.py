"""The notifications page, the settings page and unsubscribing, as people use them."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from notifications.kinds import EMAILED_BY_DEFAULT
from notifications.models import Kind, Notice
from notifications.selectors import email_kinds_for
from notifications.services import notify
from notifications.tokens import ALL, unsubscribe_token


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def people(owner, make_user):
    from governance.models import Role
    from governance.services import role_grant

    stranger, steward = make_user("stranger"), make_user("warden")
    role_grant(user=steward, role=Role.STEWARD)
    return {"anonymous": None, "stranger": stranger, "owner": owner, "steward": steward}


@pytest.fixture
def notice(owner, on_commit):
    on_commit(
        notify, owner, Kind.OUTBID, title="Outbid on Brass lamp", url="/auctions/", body="$30"
    )
    return Notice.objects.get(recipient=owner)


def test_the_page_lists_newest_first_marks_unread_and_paginates(client, owner, on_commit):
    for number in range(23):
        on_commit(notify, owner, Kind.OUTBID, title=f"Notice {number}", url="/")
    Notice.objects.filter(title="Notice 22").update(read_at="2026-01-01T00:00Z")
    client.force_login(owner)

    first = client.get(reverse("notifications:list")).content.decode()
    titles = re.findall(r"Notice \d+", first)
    assert titles[:2] == ["Notice 22", "Notice 21"] and len(titles) == 20
    assert "22 unread." in first and first.count("notice is-unread") == 19
    assert 'aria-label="Notifications, 22 unread"' in first
    second = client.get(reverse("notifications:list"), {"page": 2}).content.decode()
    assert re.findall(r"Notice \d+", second) == ["Notice 2", "Notice 1", "Notice 0"]
    assert "Page 2 of 2" in second


def test_an_empty_list_says_what_will_come(client, owner):
    client.force_login(owner)
    page = client.get(reverse("notifications:list")).content.decode()
    assert "Nothing yet." in page and "Mark all read" not in page
    assert 'aria-label="Notifications"' in page


def test_opening_marks_read_and_follows_the_link(client, owner, notice):
    client.force_login(owner)
    response = client.post(reverse("notifications:open", args=[notice.public_id]))
    assert response.status_code == 302 and response.url == "/auctions/"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_a_notice_leading_off_site_goes_nowhere_but_the_list(client, owner, on_commit):
    on_commit(notify, owner, Kind.OUTBID, title="t", url="https://evil.example/")
    client.force_login(owner)
    notice = Notice.objects.get()
    response = client.post(reverse("notifications:open", args=[notice.public_id]))
    assert response.url == reverse("notifications:list")


def test_mark_all_read(client, owner, notice):
    client.force_login(owner)
    response = client.post(reverse("notifications:read_all"), follow=True)
    assert "Marked 1 notification read." in response.content.decode()
    assert not Notice.objects.filter(read_at__isnull=True).exists()
    again = client.post(reverse("notifications:read_all"), follow=True)
    assert "Nothing was unread." in again.content.decode()


def test_settings_save_the_ticked_kinds(client, owner):
    client.force_login(owner)
    page = client.get(reverse("notifications:settings")).content.decode()
    assert page.count("checked") == len(EMAILED_BY_DEFAULT)
    assert "Order updates always come by email" in page
    response = client.post(
        reverse("notifications:settings"), {"email": ["outbid", "seller_live"]}, follow=True
    )
    assert "Saved." in response.content.decode()
    assert email_kinds_for(user=owner) == {"outbid", "seller_live"}
    client.post(reverse("notifications:settings"))
    assert email_kinds_for(user=owner) == frozenset()


def test_the_email_s_link_asks_then_stops_that_kind_without_logging_in(client, owner, notice):
    [message] = mail.outbox
    link = re.search(r"http://\S+/notifications/unsubscribe/\S+/", message.body).group(0)
    path = link.split("//", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)
    assert page.status_code == 200 and "Stop “You were outbid” emails" in page.content.decode()
    assert email_kinds_for(user=owner) == EMAILED_BY_DEFAULT  # a GET (a mail scanner) stops nothing

    done = client.post("/" + path, {"scope": "kind"})
    assert "You will get no more “You were outbid” emails." in done.content.decode()
    assert email_kinds_for(user=owner) == EMAILED_BY_DEFAULT - {"outbid"}


def test_one_click_post_from_a_mail_client(client, owner, notice):
    """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the header's URL,
    with no session and no CSRF token."""
    [message] = mail.outbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>").split("//", 1)[1]
    client.handler.enforce_csrf_checks = True
    response = client.post(
        "/" + url.split("/", 1)[1],
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "outbid" not in email_kinds_for(user=owner)


def test_stopping_everything(client, owner):
    token = unsubscribe_token(user_public_id=owner.public_id, kind="offer_received")
    client.post(reverse("notifications:unsubscribe", args=[token]), {"scope": ALL})
    assert email_kinds_for(user=owner) == frozenset()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_refused_and_changes_nothing(client, owner, method):
    token = unsubscribe_token(user_public_id=owner.public_id, kind="outbid")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = getattr(client, method)(reverse("notifications:unsubscribe", args=[tampered]))
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert email_kinds_for(user=owner) == EMAILED_BY_DEFAULT


def test_a_link_for_a_kind_that_is_never_mailed_is_refused(client, owner):
    token = unsubscribe_token(user_public_id=owner.public_id, kind="order_paid")
    response = client.post(reverse("notifications:unsubscribe", args=[token]))
    assert response.status_code == 400


# The authorization matrix: every page is the signed-in person's own. Nobody, a
# steward neither, reads or marks another's notices or changes their settings.


def _endpoints(notice) -> dict[str, tuple[str, str]]:
    return {
        "list": ("get", reverse("notifications:list")),
        "open": ("post", reverse("notifications:open", args=[notice.public_id])),
        "read all": ("post", reverse("notifications:read_all")),
        "settings": ("get", reverse("notifications:settings")),
        "save settings": ("post", reverse("notifications:settings")),
    }


EXPECTED = {
    # who: {endpoint: status}; anonymous people are sent to log in.
    "anonymous": dict.fromkeys(["list", "open", "read all", "settings", "save settings"], 302),
    "stranger": {"list": 200, "open": 404, "read all": 302, "settings": 200, "save settings": 302},
    "steward": {"list": 200, "open": 404, "read all": 302, "settings": 200, "save settings": 302},
    "owner": {"list": 200, "open": 302, "read all": 302, "settings": 200, "save settings": 302},
}


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("endpoint", ["list", "open", "read all", "settings", "save settings"])
def test_authorization_matrix(client, people, notice, owner, who, endpoint):
    if people[who] is not None:
        client.force_login(people[who])
    method, url = _endpoints(notice)[endpoint]
    response = getattr(client, method)(url, {"email": ["outbid"]} if method == "post" else {})

    assert response.status_code == EXPECTED[who][endpoint]
    if who == "anonymous":
        assert response.url.startswith(reverse("accounts:login"))
    notice.refresh_from_db()
    assert (notice.read_at is None) == (who != "owner" or endpoint not in ("open", "read all"))
    saved_own = who == "owner" and endpoint == "save settings"
    assert email_kinds_for(user=owner) == ({"outbid"} if saved_own else EMAILED_BY_DEFAULT)
    if endpoint == "list" and who != "anonymous":
        assert ("Outbid on Brass lamp" in response.content.decode()) == (who == "owner")


def test_opening_someone_else_s_notice_says_there_is_none(client, people, notice):
    client.force_login(people["stranger"])
    response = client.post(reverse("notifications:open", args=[notice.public_id]))
    assert response.status_code == 404
    assert "There is no such notification." in response.content.decode()
