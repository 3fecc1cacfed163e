import re

import pytest

from accounts.services import user_signup

STRONG_PASSWORD = "lantern-velvet-92"
VERIFY_LINK = re.compile(r"https?://[^/\s]+(/accounts/verify/[^/\s]+/(?:\?\S+)?)")


def verify_path(message) -> str:
    """The path (and query) of the verification link in an email."""
    match = VERIFY_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def confirm_link(client, path: str):
    """Open a verification link signed out, as a person does: the page asks, the
    button confirms (a POST to the same address). The POST's response."""
    page = client.get(path)
    assert page.status_code == 200, page
    assert "Confirm and sign in" in page.content.decode()
    return client.post(path)


@pytest.fixture
def signup_data():
    """A sign-up form filled in well; the email is longer than any handle on purpose."""
    return {
        "handle": "Marta_K",
        "email": "marta.kowalska.market@example.com",
        "password": STRONG_PASSWORD,
        "password_confirm": STRONG_PASSWORD,
        "privacy_notice": "on",
    }


@pytest.fixture
def signed_up(db, django_capture_on_commit_callbacks):
    """A fresh, unverified account whose verification email has gone out."""

    def make(handle: str = "Marta_K", email: str = "marta@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            return user_signup(
                handle=handle, email=email, password=STRONG_PASSWORD, base_url="http://testserver"
            )

    return make
