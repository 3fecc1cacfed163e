"""Password rules (OWASP ASVS 2.1): 12 to 128 characters, any characters, never
truncated, not a common one; the rules apply to sign-up, change and reset alike."""

import pytest
from django.contrib.auth import password_validation

from accounts.models import User
from accounts.services import SignupRefused, user_signup

pytestmark = pytest.mark.django_db


def signup(password: str) -> User:
    return user_signup(handle="Marta_K", email="marta@example.com", password=password, base_url="")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("lantern-vel", "at least 12 characters"),  # 11
        ("x" * 60 + "-lantern-velvet-" + "y" * 53, "at most 128 characters"),  # 129
        ("password1234", "too common"),
    ],
    ids=["eleven", "over-128", "common"],
)
def test_a_short_a_huge_or_a_common_password_is_refused(password, message):
    with pytest.raises(SignupRefused) as refused:
        signup(password)
    assert message in " ".join(refused.value.errors["password"])
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "password",
    [
        "lantern-velv",  # 12, the shortest allowed
        "lantern velvet harbour",  # spaces
        "ねこ と みせ の よる 🐈‍⬛🏮",  # any printable Unicode, emoji included
        "z" * 40 + "-lantern-velvet-harbour-" + "q" * 64,  # 128, the longest allowed
    ],
    ids=["twelve", "spaces", "unicode", "128"],
)
def test_any_characters_from_12_to_128_are_allowed_without_composition_rules(password):
    user = signup(password)
    assert user.check_password(password)


def test_a_long_password_is_checked_whole_not_truncated():
    password = "lantern-velvet-harbour-" * 5  # 115 characters
    user = signup(password)
    assert not user.check_password(password[:-1])
    assert not user.check_password(password[:72])  # where bcrypt would stop


def test_the_form_says_the_rules_before_anything_is_typed():
    help_text = password_validation.password_validators_help_text_html()
    assert "at least 12 characters" in help_text and "up to 128 characters" in help_text
