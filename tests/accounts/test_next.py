"""Every `next` the account pages read: the cases the issue found ending in a 500 or
leaving the site, and a Hypothesis search for any other input that ends in a 5xx."""

from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import User

from .conftest import confirm_link, verify_path

HOME = reverse("market:home")
SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
SENT = reverse("accounts:signup_sent")


@pytest.fixture
def signed_in(client, make_user):
    client.force_login(make_user("marta"))
    return client


@pytest.mark.parametrize("page", [SIGNUP, LOGIN])
@pytest.mark.parametrize(
    "next_url", ["env", "market:home", "https://evil.example/", "//evil.example/", "/\\evil"]
)
def test_a_signed_in_person_with_a_bad_next_goes_home(signed_in, page, next_url):
    response = signed_in.get(page, {"next": next_url})
    assert response.status_code == 302
    assert response.url == HOME


@pytest.mark.parametrize("page", [SIGNUP, LOGIN])
def test_a_signed_in_person_with_a_good_next_goes_there(signed_in, page):
    response = signed_in.get(page, {"next": "/stalls/somewhere/"})
    assert response.status_code == 302
    assert response.url == "/stalls/somewhere/"


@pytest.mark.parametrize("loop", [LOGIN, f"{LOGIN}?next={LOGIN}", SIGNUP])
def test_login_with_next_pointing_at_itself_is_no_redirect_loop(signed_in, market, loop):
    """Django raised "Redirection loop for authenticated user" (a 500)."""
    response = signed_in.get(LOGIN, {"next": loop})
    assert response.status_code == 302
    assert response.url in (HOME, SIGNUP)
    assert signed_in.get(response.url, follow=True).status_code == 200


def test_signup_post_with_next_env_makes_the_account_and_goes_nowhere_strange(
    client, db, signup_data, mailoutbox, django_capture_on_commit_callbacks
):
    """It used to make the account, then answer 500 and leave the person signed out."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{SIGNUP}?next=env", {**signup_data, "next": "env"})
    assert response.status_code == 302 and response.url == SENT
    user = User.objects.get(handle="Marta_K")
    followed = confirm_link(client, verify_path(mailoutbox[0]))
    assert followed.url == HOME
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_post_with_bad_next_signs_in_and_goes_home(client, make_user):
    make_user("marta", password="correct-horse-battery")
    response = client.post(
        f"{LOGIN}?next=env",
        {"username": "marta", "password": "correct-horse-battery", "next": "env"},
    )
    assert response.status_code == 302
    assert response.url == HOME


def test_login_page_keeps_a_good_next_and_drops_a_bad_one(client, db):
    good = client.get(LOGIN, {"next": "/stalls/x/"}).content.decode()
    bad = client.get(LOGIN, {"next": "env"}).content.decode()
    assert '<input type="hidden" name="next" value="/stalls/x/">' in good
    assert 'name="next"' not in bad


@pytest.mark.parametrize(("next_url", "expected"), [("env", HOME), ("/search/", "/search/")])
def test_logout_follows_only_a_local_next(signed_in, next_url, expected):
    response = signed_in.post(LOGOUT, {"next": next_url})
    assert response.status_code == 302
    assert response.url == expected


def test_verify_link_with_a_tampered_next_goes_home(client, signed_up, mailoutbox):
    signed_up()
    path = verify_path(mailoutbox[0])
    page = client.get(path, {"next": "//evil.example/"}).content.decode()
    assert 'name="next"' not in page
    response = client.post(path, {"next": "//evil.example/"})
    assert response.url == HOME


# Hypothesis: anything in any field of any account form, any `next`, never a 5xx.

NASTY = st.sampled_from(
    [
        "env",
        "//evil.example/",
        "/\\evil.example/",
        "/accounts/login/",
        "/accounts/signup/?next=/accounts/signup/",
        "javascript:alert(1)",
        "\x00",
        "/a\r\nLocation: //evil.example/",
        "%2F%2Fevil.example",
        "x" * 5000,
        "marta@example.com",
        "MARTA@EXAMPLE.COM",
    ]
)
VALUES = st.one_of(st.text(max_size=300), NASTY)
SIGNUP_FIELDS = ("handle", "email", "password", "password_confirm", "privacy_notice", "next")


def posted(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


def no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:2000]


@given(
    fields=st.fixed_dictionaries({name: st.none() | VALUES for name in SIGNUP_FIELDS}),
    query_next=st.none() | VALUES,
    signed_in=st.booleans(),
)
def test_signup_never_fails_with_a_server_error(make_user, fields, query_next, signed_in):
    client = Client()
    if signed_in:
        client.force_login(make_user())
    query = {} if query_next is None else {"next": query_next}
    no_server_error(client.get(SIGNUP, query))
    no_server_error(client.post(f"{SIGNUP}?{urlencode(query)}", posted(fields)))


@given(
    fields=st.fixed_dictionaries(
        {name: st.none() | VALUES for name in ("username", "password", "next")}
    ),
    query_next=st.none() | VALUES,
    signed_in=st.booleans(),
)
def test_login_and_logout_never_fail_with_a_server_error(make_user, fields, query_next, signed_in):
    marta = User.objects.filter(handle="marta").first() or make_user("marta")
    client = Client()
    if signed_in:
        client.force_login(marta)
    query = {} if query_next is None else {"next": query_next}
    no_server_error(client.get(LOGIN, query))
    no_server_error(client.post(f"{LOGIN}?{urlencode(query)}", posted(fields)))
    no_server_error(client.post(LOGOUT, posted({"next": fields["next"]})))


@given(
    email=st.none() | VALUES,
    token=st.text(min_size=1, max_size=300) | NASTY,
    new_passwords=st.tuples(st.none() | VALUES, st.none() | VALUES),
    query_next=st.none() | VALUES,
    signed_in=st.booleans(),
)
def test_reset_and_verify_never_fail_with_a_server_error(
    make_user, email, token, new_passwords, query_next, signed_in
):
    user = make_user(verified=False)
    client = Client()
    if signed_in:
        client.force_login(user)
    query = {} if query_next is None else {"next": query_next}
    no_server_error(client.post(reverse("accounts:password_reset"), posted({"email": email})))
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    reset = reverse("accounts:password_reset_confirm", args=[uid, quote(token, safe="")])
    first, second = new_passwords
    no_server_error(
        client.post(reset, posted({"new_password1": first, "new_password2": second}), follow=True)
    )
    verify = reverse("accounts:verify", args=[quote(token, safe="")])
    no_server_error(client.get(verify, query))
    no_server_error(client.post(f"{verify}?{urlencode(query)}", posted({"next": email})))
    no_server_error(client.post(reverse("accounts:verify_resend"), query))
    no_server_error(client.get(SENT, query))
