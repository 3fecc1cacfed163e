"""Unsubscribe tokens: signed, so a link stops only the email it was made for."""

from django.core import signing

from notifications.tokens import ALL, Unsubscribe, unsubscribe_read, unsubscribe_token


def test_a_token_reads_back_what_it_was_made_for():
    token = unsubscribe_token(user_public_id="01ABC", kind="outbid")
    assert unsubscribe_read(token) == Unsubscribe(user_public_id="01ABC", kind="outbid")
    assert unsubscribe_read(unsubscribe_token(user_public_id="01ABC", kind=ALL)).kind == ALL


def test_a_tampered_token_is_refused():
    token = unsubscribe_token(user_public_id="01ABC", kind="outbid")
    payload, _, signature = token.rpartition(":")
    other = unsubscribe_token(user_public_id="01XYZ", kind="outbid")
    assert unsubscribe_read(other.rpartition(":")[0] + ":" + signature) is None
    assert (
        unsubscribe_read(payload + ":" + signature[:-1] + ("A" if signature[-1] != "A" else "B"))
        is None
    )
    assert unsubscribe_read("not-a-token") is None


def test_a_token_signed_for_something_else_is_refused():
    foreign = signing.dumps({"u": "01ABC", "k": "outbid"}, salt="accounts.verify")
    assert unsubscribe_read(foreign) is None
    assert unsubscribe_read(signing.dumps(["01ABC"], salt="notifications.unsubscribe")) is None
