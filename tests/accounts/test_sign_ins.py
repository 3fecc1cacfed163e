"""Where you're signed in (OWASP ASVS 3.3.4): each device's session listed, this one
marked, any other signed out from here; a changed or reset password clears the list."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.devices import device_described
from accounts.models import SignIn

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # make_user's
NEW_PASSWORD = "quiet-orchard-4471"
SIGN_INS = reverse("account:sign_ins")
HUB = reverse("account:hub")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def signed_in(handle: str, user_agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent)
    response = client.post(reverse("accounts:login"), {"username": handle, "password": PASSWORD})
    assert response.status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(HUB).status_code == 200


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (CHROME_ANDROID, "Chrome on Android"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on macOS",
        ),
        ("curl/8.5.0", "A browser"),
        ("", "A browser"),
    ],
)
def test_a_device_is_told_in_a_person_s_words(user_agent, described):
    assert device_described(user_agent) == described


def test_each_device_is_listed_this_one_first_and_marked(make_user):
    marta = make_user("marta")
    make_user("pavel")
    signed_in("pavel", CHROME_ANDROID)
    signed_in("marta", FIREFOX_WINDOWS)
    phone = signed_in("marta", SAFARI_IPHONE)

    page = phone.get(SIGN_INS).content.decode()

    assert page.index("Safari on iPhone") < page.index("Firefox on Windows")
    assert page.count("This device") == 1
    assert "Chrome on Android" not in page  # Pavel's
    assert page.count(">Sign out</button>") == 1
    assert "Sign out everywhere else" in page
    assert SignIn.objects.filter(user=marta).count() == 2


def test_signing_out_a_device_from_another_ends_its_session(make_user):
    marta = make_user("marta")
    laptop = signed_in("marta", FIREFOX_WINDOWS)
    phone = signed_in("marta", SAFARI_IPHONE)
    laptop_entry = SignIn.objects.get(user=marta, device="Firefox on Windows")

    response = phone.post(reverse("account:sign_in_end", args=[laptop_entry.public_id]))

    assert response.status_code == 302
    assert not is_signed_in(laptop)
    assert is_signed_in(phone)
    assert list(SignIn.objects.filter(user=marta).values_list("device", flat=True)) == [
        "Safari on iPhone"
    ]
    again = phone.post(reverse("account:sign_in_end", args=[laptop_entry.public_id]))
    assert again.status_code == 404
    assert "That session has already ended." in again.content.decode()


def test_no_one_can_sign_out_someone_else_s_device(make_user):
    make_user("marta")
    make_user("pavel")
    pavel = signed_in("pavel", CHROME_ANDROID)
    marta = signed_in("marta", FIREFOX_WINDOWS)
    pavel_entry = SignIn.objects.get(user__handle="pavel")

    refused = marta.post(reverse("account:sign_in_end", args=[pavel_entry.public_id]))

    assert refused.status_code == 404
    assert is_signed_in(pavel)


def test_signing_out_everywhere_else_keeps_this_device(make_user):
    marta = make_user("marta")
    others = [signed_in("marta", agent) for agent in (FIREFOX_WINDOWS, CHROME_ANDROID)]
    phone = signed_in("marta", SAFARI_IPHONE)

    response = phone.post(reverse("account:sign_ins_end_others"), follow=True)

    assert "Signed out of 2 other sessions." in response.content.decode()
    assert not any(is_signed_in(other) for other in others)
    assert is_signed_in(phone)
    assert SignIn.objects.filter(user=marta).count() == 1
    alone = phone.post(reverse("account:sign_ins_end_others"), follow=True)
    assert "You were signed in nowhere else." in alone.content.decode()


def test_logging_out_takes_the_device_off_the_list(make_user):
    marta = make_user("marta")
    laptop = signed_in("marta", FIREFOX_WINDOWS)
    laptop.post(reverse("accounts:logout"))
    assert not SignIn.objects.filter(user=marta).exists()


def test_a_changed_password_keeps_this_device_listed_and_ends_the_others(make_user):
    marta = make_user("marta")
    laptop = signed_in("marta", FIREFOX_WINDOWS)
    phone = signed_in("marta", SAFARI_IPHONE)

    phone.post(
        reverse("account:password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert is_signed_in(phone) and not is_signed_in(laptop)
    page = phone.get(SIGN_INS).content.decode()
    assert "Safari on iPhone" in page and "This device" in page
    assert "Firefox on Windows" not in page
    assert SignIn.objects.filter(user=marta).count() == 1


def test_a_reset_password_clears_every_device(client, make_user):
    marta = make_user("marta")
    laptop = signed_in("marta", FIREFOX_WINDOWS)
    marta.refresh_from_db()  # the token covers the log-in's last_login
    uid = urlsafe_base64_encode(force_bytes(marta.pk))
    token = default_token_generator.make_token(marta)
    form = client.get(reverse("accounts:password_reset_confirm", args=[uid, token]))
    assert form.status_code == 302  # Django moves the token into the session
    client.post(form.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert not is_signed_in(laptop)
    assert not SignIn.objects.filter(user=marta).exists()


def test_a_session_from_before_the_list_joins_it_as_this_device(make_user):
    marta = make_user("marta")
    older = Client(HTTP_USER_AGENT=CHROME_ANDROID)
    older.force_login(marta)
    SignIn.objects.all().delete()  # as sessions begun before this list was kept

    page = older.get(SIGN_INS).content.decode()

    assert "Chrome on Android" in page and "This device" in page


def test_the_list_is_for_the_signed_in_only(client):
    response = client.get(SIGN_INS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
