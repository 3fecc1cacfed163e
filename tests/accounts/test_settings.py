"""The account settings: the hub, a new email address switched only from the link
mailed to it (the old address told), the password changed without losing the session,
the time zone every page's times are shown in; who may open what."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from accounts import settings_services
from accounts.models import User
from accounts.settings_forms import time_zone_choices

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # make_user's
HUB = reverse("account:hub")
EMAIL = reverse("account:email")
PASSWORD_URL = reverse("account:password")
TIME_ZONE = reverse("account:time_zone")
CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/account/email/confirm/[^/\s]+/)")


@pytest.fixture
def person(make_user):
    return make_user("marta", email="marta@example.com")


@pytest.fixture
def signed_in(client, person):
    client.force_login(person)
    return client


def confirm_path(message) -> str:
    match = CONFIRM_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def request_change(client, new_email="marta.new@example.com", password=PASSWORD, **extra):
    return client.post(EMAIL, {"new_email": new_email, "password": password}, **extra)


# The hub


def test_the_hub_shows_each_setting_and_links_to_payments_and_deletion(signed_in, person):
    html = signed_in.get(HUB).content.decode()
    assert "marta@example.com" in html and "Verified" in html
    pages = ("orders:account", "notifications:settings", "privacy:delete")
    for url in (EMAIL, PASSWORD_URL, *map(reverse, pages)):
        assert f'href="{url}"' in html
    assert '<option value="Europe/Paris">Paris</option>' in html
    assert '<optgroup label="Europe">' in html


def test_the_top_bar_handle_opens_the_hub(signed_in):
    html = signed_in.get(reverse("discovery:home")).content.decode()
    assert f'<a class="handle" href="{HUB}"' in html


# Changing the email address


def test_a_new_address_is_used_only_after_its_link_is_opened(
    client, signed_in, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = request_change(signed_in)
    assert response.url == HUB
    person.refresh_from_db()
    assert person.email == "marta@example.com" and person.email_pending == "marta.new@example.com"
    (link_mail,) = mail.outbox
    assert link_mail.to == ["marta.new@example.com"]
    assert "marta.new@example.com" not in confirm_path(link_mail)  # no address in URLs
    assert "Waiting for you to open the link" in signed_in.get(HUB).content.decode()

    client.logout()  # the link works from any browser
    with django_capture_on_commit_callbacks(execute=True):
        opened = client.get(confirm_path(link_mail), follow=True)
    assert "Your email address is now marta.new@example.com." in opened.content.decode()
    person.refresh_from_db()
    assert person.email == "marta.new@example.com" and person.email_pending == ""
    assert person.email_verified
    told = mail.outbox[1]
    assert told.to == ["marta@example.com"] and "marta.new@example.com" in told.body
    again = client.get(confirm_path(link_mail))
    assert again.status_code == 400 and "no longer works" in again.content.decode()


@pytest.mark.parametrize(
    ("new_email", "password", "message"),
    [
        ("", PASSWORD, "Enter the new email address."),
        ("not-an-address", PASSWORD, "Enter a valid email address."),
        ("MARTA@example.com", PASSWORD, "That is already your email address."),
        ("taken@example.com", PASSWORD, "Another account uses that email address."),
        ("fresh@example.com", "wrong-password", "That is not your current password."),
        ("fresh@example.com", "", "Enter your current password."),
    ],
)
def test_a_refused_change_is_said_beside_its_field(
    signed_in, person, make_user, new_email, password, message
):
    make_user("other", email="taken@example.com")
    response = request_change(signed_in, new_email, password)
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in html and html.count(message) == 2  # summary and field
    person.refresh_from_db()
    assert person.email_pending == "" and not mail.outbox


def test_a_second_link_within_a_minute_is_refused(signed_in, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request_change(signed_in)
        response = request_change(signed_in, "other.new@example.com")
    assert response.status_code == 400 and "less than a minute ago" in response.content.decode()
    assert len(mail.outbox) == 1


def test_a_cancelled_change_kills_its_link(
    client, signed_in, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_change(signed_in)
    signed_in.post(reverse("account:email_cancel"))
    person.refresh_from_db()
    assert person.email_pending == ""
    response = client.get(confirm_path(mail.outbox[0]))
    assert response.status_code == 400 and "no longer works" in response.content.decode()
    person.refresh_from_db()
    assert person.email == "marta@example.com"


def test_an_address_taken_meanwhile_is_refused_at_the_link(
    signed_in, person, make_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request_change(signed_in)
    make_user("quick", email="marta.new@example.com")
    response = signed_in.get(confirm_path(mail.outbox[0]))
    assert response.status_code == 409 and "taken that email address" in response.content.decode()
    person.refresh_from_db()
    assert person.email == "marta@example.com"


def test_a_tampered_or_expired_link_is_refused(signed_in, person, monkeypatch):
    person.email_pending = "marta.new@example.com"
    person.save()
    token = settings_services.email_change_token_make(user=person)
    bad = signed_in.get(reverse("account:email_confirm", args=[token[:-3] + "abc"]))
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    later = timezone.now() + settings_services.MAX_AGE + timedelta(minutes=1)
    monkeypatch.setattr(signing, "time", type("T", (), {"time": staticmethod(later.timestamp)}))
    expired = signed_in.get(reverse("account:email_confirm", args=[token]))
    assert expired.status_code == 400 and "expired" in expired.content.decode()


# Changing the password


def test_the_password_changes_and_the_session_stays(
    signed_in, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            PASSWORD_URL,
            {
                "old_password": PASSWORD,
                "new_password1": "quiet-orchard-4471",
                "new_password2": "quiet-orchard-4471",
            },
        )
    assert response.url == HUB
    person.refresh_from_db()
    assert person.check_password("quiet-orchard-4471")
    assert signed_in.get(HUB).status_code == 200  # still signed in
    assert signed_in.session[SESSION_KEY] == str(person.pk)
    assert mail.outbox[0].to == ["marta@example.com"] and "password" in mail.outbox[0].subject


@pytest.mark.parametrize(
    ("old", "new1", "new2", "message"),
    [
        (
            "wrong",
            "quiet-orchard-4471",
            "quiet-orchard-4471",
            "Your old password was entered incorrectly",
        ),
        (
            PASSWORD,
            "quiet-orchard-4471",
            "other-orchard-4471",
            "The two password fields didn’t match.",
        ),
        (PASSWORD, "12345678", "12345678", "This password is too common."),
    ],
)
def test_a_refused_password_change_says_why(signed_in, person, old, new1, new2, message):
    response = signed_in.post(
        PASSWORD_URL, {"old_password": old, "new_password1": new1, "new_password2": new2}
    )
    assert response.status_code == 400 and message in response.content.decode()
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


# The time zone


def test_the_time_zone_is_saved_and_times_render_in_it(signed_in, person, stall, make_item):
    from orders.checkout.services import shipping_address_save
    from tests.orders.conftest import pay, start_checkout

    shipping_address_save(
        buyer=person, name="M", line1="1 St", line2="", city="C", postal_code="1", country="US"
    )
    pay(start_checkout(person, make_item(stall, title="Clock")))
    order = person.orders.get()
    order_url = reverse("orders:detail", args=[order.public_id])
    ship_by = order.paid_at + timedelta(days=settings.SHIP_WITHIN_DAYS)
    utc_text = ship_by.astimezone(UTC).strftime("%H:%M") + " UTC"
    assert utc_text in signed_in.get(order_url).content.decode()

    response = signed_in.post(TIME_ZONE, {"time_zone": "Asia/Tokyo"})
    assert response.url == HUB
    person.refresh_from_db()
    assert person.time_zone == "Asia/Tokyo"
    hub = signed_in.get(HUB).content.decode()
    assert "Times are now shown in Asia/Tokyo." in hub and " JST" in hub
    tokyo_text = (ship_by + timedelta(hours=9)).astimezone(UTC).strftime("%H:%M") + " JST"
    html = signed_in.get(order_url).content.decode()
    assert tokyo_text in html and utc_text not in html


def test_an_unknown_time_zone_is_refused(signed_in, person):
    response = signed_in.post(TIME_ZONE, {"time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    person.refresh_from_db()
    assert person.time_zone == "UTC"


def test_the_zone_list_is_real_zones_with_utc_first():
    choices = time_zone_choices()
    assert choices[0][0] == "UTC"
    names = [name for _, group in choices[1:] for name, _ in group]
    assert "America/New_York" in names and "Europe/Paris" in names
    assert not any(name.startswith(("Etc/", "US/")) for name in names)


def test_a_stored_zone_gone_from_the_system_falls_back_to_utc(signed_in, person):
    User.objects.filter(pk=person.pk).update(time_zone="Nowhere/Gone")
    assert signed_in.get(HUB).status_code == 200


def test_the_middleware_leaves_no_zone_behind(client, person):
    person.time_zone = "Asia/Tokyo"
    person.save()
    client.force_login(person)
    client.get(HUB)
    assert timezone.get_current_timezone_name() == "UTC"
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert timezone.localtime(now).hour == 12


# Who may open what


SETTINGS_PAGES = {
    "hub": ("get", HUB, {}),
    "email": ("post", EMAIL, {"new_email": "n@example.com", "password": PASSWORD}),
    "email_cancel": ("post", reverse("account:email_cancel"), {}),
    "password": ("get", PASSWORD_URL, {}),
    "time_zone": ("post", TIME_ZONE, {"time_zone": "Europe/Paris"}),
}


@pytest.mark.parametrize("who", ["anonymous", "buyer", "seller", "steward"])
@pytest.mark.parametrize("endpoint", list(SETTINGS_PAGES))
def test_authorization_matrix_for_settings(client, make_user, stall, who, endpoint):
    """Each page acts on the signed-in person's own account only: there is no other
    account's page to reach, whoever asks."""
    from governance.models import Role
    from governance.services import role_grant

    people = {"buyer": make_user("buyer"), "seller": stall.seller.user}
    people["steward"] = make_user("steward")
    role_grant(user=people["steward"], role=Role.STEWARD)
    method, url, data = SETTINGS_PAGES[endpoint]
    if who != "anonymous":
        client.force_login(people[who])
    response = getattr(client, method)(url, data)
    if who == "anonymous":
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
        return
    assert response.status_code in (200, 302)
    others = [person for name, person in people.items() if name != who]
    for other in others:
        other.refresh_from_db()
        assert other.email_pending == "" and other.time_zone == "UTC"
