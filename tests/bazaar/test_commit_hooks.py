"""bazaar.commit_hooks: a transaction's after-commit work handed to its writer, to run
once the people waiting on the commit have their answers."""

import logging

import pytest
from django.db import transaction

from bazaar.commit_hooks import HeldHooks

pytestmark = pytest.mark.django_db(transaction=True)


def _transaction(ran: list, held: HeldHooks, *, fail: bool = False) -> None:
    with transaction.atomic():
        transaction.on_commit(lambda: ran.append("first"))
        transaction.on_commit(lambda: ran.append("second"), robust=True)
        if fail:
            raise RuntimeError("rolled back")
        held.take()


def test_the_outermost_transactions_callbacks_wait_for_run_and_keep_their_order():
    ran, held = [], HeldHooks()
    _transaction(ran, held)
    assert ran == []  # committed, and nothing ran at the commit
    held.run()
    assert ran == ["first", "second"]
    held.run()
    assert ran == ["first", "second"]  # once only


def test_a_rolled_back_transactions_callbacks_never_run():
    ran, held = [], HeldHooks()
    with pytest.raises(RuntimeError):
        _transaction(ran, held, fail=True)
    held.run()
    assert ran == []


def test_inside_another_transaction_the_callbacks_stay_with_it():
    """Only the outermost block commits: an inner one's work may still roll back."""
    ran, held = [], HeldHooks()
    with pytest.raises(RuntimeError), transaction.atomic():
        _transaction(ran, held)
        raise RuntimeError("the outer transaction rolls back")
    held.run()
    assert ran == []
    with transaction.atomic():
        _transaction(ran, held)
    assert ran == ["first", "second"]  # run by Django, at the outer commit


def test_a_failing_callback_is_logged_and_the_rest_still_run(caplog):
    ran, held = [], HeldHooks()

    def broken():
        raise ConnectionError("the broker went away")

    with transaction.atomic():
        transaction.on_commit(broken)
        transaction.on_commit(lambda: ran.append("after"))
        held.take()
    with caplog.at_level(logging.ERROR, logger="bazaar.commit_hooks"):
        held.run()
    assert ran == ["after"]
    assert "the broker went away" in caplog.text
