"""Sessions (OWASP ASVS 3.2, 3.3): a new session at log-in, none left on the server at
log-out, and a changed or reset password ends every other session."""

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # make_user's
NEW_PASSWORD = "quiet-orchard-4471"
HUB = reverse("account:hub")


def session_store():
    return Client().session.__class__


def signed_in_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def is_signed_in(client) -> bool:
    return client.get(HUB).status_code == 200


def test_logging_in_starts_a_new_session_and_forgets_the_visitor_s(client, make_user):
    """A session id planted before log-in (session fixation) is worth nothing after."""
    make_user("marta")
    visitor = client.session
    visitor["seen"] = True
    visitor.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = visitor.session_key

    response = client.post(reverse("accounts:login"), {"username": "marta", "password": PASSWORD})

    assert response.status_code == 302
    key = signed_in_key(client)
    assert key != visitor.session_key
    assert not session_store()().exists(visitor.session_key)
    assert len(key) == 32 and set(key) <= set(VALID_KEY_CHARS)  # about 165 random bits


def test_logging_out_deletes_the_session_on_the_server(client, make_user):
    """Replaying the cookie after log-out (the back button, a copied cookie) finds nothing."""
    make_user("marta")
    client.post(reverse("accounts:login"), {"username": "marta", "password": PASSWORD})
    key = signed_in_key(client)
    assert is_signed_in(client)

    response = client.post(reverse("accounts:logout"))

    # The browser drops what it cached and stored for the person (ASVS V8.2.3).
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert not session_store()().exists(key)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    response = replay.get(HUB)
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_a_password_change_signs_out_every_other_session(make_user):
    person = make_user("marta")
    here, elsewhere = Client(), Client()
    here.force_login(person)
    elsewhere.force_login(person)

    response = here.post(
        reverse("account:password"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_a_password_reset_signs_out_every_session_and_tells_the_owner(
    client, make_user, django_capture_on_commit_callbacks
):
    person = make_user("marta")
    elsewhere = Client()
    elsewhere.force_login(person)
    link = reverse(
        "accounts:password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(person.pk)),
            default_token_generator.make_token(person),
        ],
    )
    form = client.get(link)  # Django moves the token into the session and redirects
    assert form.status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
        client.post(form.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert not is_signed_in(elsewhere)
    assert [message.to for message in mail.outbox] == [[person.email]]
    assert "password" in mail.outbox[0].subject.lower()


LOGIN_BACKEND = "accounts.backends.HandleOrEmailBackend"  # what a log-in stores


def test_a_signed_in_request_reads_its_user_by_the_compiled_query(make_user, monkeypatch):
    from accounts import backends

    user = make_user("reader")
    client = Client()
    client.force_login(user, backend=LOGIN_BACKEND)
    read = []
    rows = backends._USER_BY_ID.rows
    monkeypatch.setattr(
        backends._USER_BY_ID, "rows", lambda *a, **kw: read.append(a) or rows(*a, **kw)
    )
    assert is_signed_in(client)
    assert read == [(user.pk,)]


def test_a_deactivated_or_deleted_account_is_signed_out(make_user):
    user, gone = make_user("sleeper"), make_user("leaver")
    clients = {}
    for who in (user, gone):
        clients[who.handle] = Client()
        clients[who.handle].force_login(who, backend=LOGIN_BACKEND)
        assert is_signed_in(clients[who.handle])
    user.is_active = False
    user.save(update_fields=["is_active"])
    gone.delete()
    assert not is_signed_in(clients["sleeper"])
    assert not is_signed_in(clients["leaver"])
