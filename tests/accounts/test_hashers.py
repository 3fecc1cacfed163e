"""Password hashes with a pepper kept outside the database (accounts.hashers, ASVS
V2.4.5): new hashes are peppered, older ones (plain PBKDF2, or an older pepper) are
made again at the owner's next log-in, and a hash whose pepper is gone matches no
password; production refuses to start without a pepper (accounts.E001)."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, make_password
from django.urls import reverse

from accounts.checks import passwords_peppered
from accounts.hashers import PepperedPBKDF2PasswordHasher
from accounts.services import user_create

PASSWORD = "correct-horse-battery"
PEPPERED = "accounts.hashers.PepperedPBKDF2PasswordHasher"
PLAIN = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
K1 = "k1-" + "a" * 40
K2 = "k2-" + "b" * 40


@pytest.fixture
def peppered(settings, monkeypatch):
    """The production hashers, at few iterations so the tests stay fast."""
    monkeypatch.setattr(PBKDF2PasswordHasher, "iterations", 1000)
    settings.PASSWORD_HASHERS = [PEPPERED, PLAIN]
    settings.PASSWORD_PEPPERS = {"k1": K1}
    return settings


def test_a_new_hash_is_of_the_password_under_the_pepper(peppered):
    encoded = make_password(PASSWORD)
    algorithm, _, salt, _ = encoded.split("$")
    assert algorithm == "pbkdf2_sha256_peppered"
    assert salt.startswith("k1.")
    assert check_password(PASSWORD, encoded)
    assert not check_password("correct-horse-batterz", encoded)
    # The users table alone is not enough: the same salt and iterations without the
    # pepper, or under another pepper, give another hash.
    plain = PBKDF2PasswordHasher().encode(PASSWORD, salt, 1000)
    assert plain.split("$")[3] != encoded.split("$")[3]
    peppered.PASSWORD_PEPPERS = {"k1": K2}
    assert not check_password(PASSWORD, encoded)


@pytest.mark.django_db
def test_an_older_hash_is_made_again_under_the_current_pepper_at_log_in(peppered, client):
    user = user_create(handle="ana", email="ana@example.com", password=None, verified=True)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt(), 1000)
    user.save(update_fields=["password"])

    signed_in = client.post(reverse("accounts:login"), {"username": "ana", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.content
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256_peppered$")
    assert user.password.split("$")[2].startswith("k1.")

    # A new pepper first, the old one still listed: the next check re-makes it.
    peppered.PASSWORD_PEPPERS = {"k2": K2, "k1": K1}
    assert user.check_password(PASSWORD)
    user.refresh_from_db()
    assert user.password.split("$")[2].startswith("k2.")
    assert user.check_password(PASSWORD)


def test_a_hash_whose_pepper_is_gone_matches_nothing(peppered):
    encoded = make_password(PASSWORD)
    peppered.PASSWORD_PEPPERS = {"k2": K2}
    hasher = PepperedPBKDF2PasswordHasher()
    assert hasher.must_update(encoded)
    assert not check_password(PASSWORD, encoded)
    hasher.harden_runtime(PASSWORD, encoded)  # no error for a log-in that fails


@pytest.mark.parametrize(
    "peppers, hashers, problem",
    [
        ({}, [PLAIN], "PASSWORD_PEPPERS is not set"),
        ({"k1": "short"}, [PEPPERED, PLAIN], "at least 32 random characters"),
        ({"k1": K1}, [PLAIN, PEPPERED], "would not be hashed with the pepper"),
        ({"k1": K1}, [PEPPERED, PLAIN], None),
    ],
)
def test_production_refuses_passwords_without_a_pepper(settings, peppers, hashers, problem):
    settings.PASSWORD_PEPPERS = peppers
    settings.PASSWORD_HASHERS = hashers
    errors = passwords_peppered(None)
    if problem is None:
        assert errors == []
    else:
        assert [error.id for error in errors] == ["accounts.E001"]
        assert problem in errors[0].msg
