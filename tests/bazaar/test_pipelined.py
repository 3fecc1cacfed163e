"""A transaction in psycopg's pipeline mode (`bazaar.database.atomic_pipelined`): its
statements go without waiting for each other's answers, a count Django reads is still
the true one, a failed statement is rolled back and the connection serves on, and
Django's turning autocommit off and on costs no round trip (issue 15, session offers11)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from psycopg import _pipeline_base

from bazaar.database import atomic_pipelined

pytestmark = pytest.mark.usefixtures("require_postgres")


def _syncs(monkeypatch) -> list[int]:
    """Every pipeline sync from now on (each a round trip to PostgreSQL)."""
    synced = []
    sync = _pipeline_base.BasePipeline._sync_gen

    def counted(pipeline):
        synced.append(1)
        return sync(pipeline)

    monkeypatch.setattr(_pipeline_base.BasePipeline, "_sync_gen", counted)
    return synced


def test_a_write_is_sent_without_waiting_and_its_count_waits_for_the_answer(make_user):
    user = make_user("piper")
    with atomic_pipelined(), connection.cursor() as cursor:
        update = "UPDATE accounts_user SET time_zone = %s WHERE id = %s"
        cursor.execute(update, ["Asia/Tokyo", user.pk])
        assert cursor.cursor.pgresult is None  # sent; its answer not read yet
        assert cursor.rowcount == 1
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"


def test_a_save_of_some_fields_in_a_pipeline_knows_its_row_was_updated(make_user):
    """Django's `save(update_fields=…)` raises when the UPDATE's count is 0; in a
    pipeline psycopg's count is -1 until a sync, so it must wait for the answer."""
    user = make_user("saver")
    with atomic_pipelined():
        user.time_zone = "Europe/Rome"
        user.save(update_fields=["time_zone"])
    user.refresh_from_db()
    assert user.time_zone == "Europe/Rome"


def test_a_failed_statement_rolls_the_block_back_and_the_connection_serves_on(make_user):
    first, second = make_user("first"), make_user("second")
    with pytest.raises(IntegrityError), atomic_pipelined():
        first.time_zone = "Europe/Oslo"
        first.save(update_fields=["time_zone"])
        get_user_model().objects.filter(pk=second.pk).update(handle=first.handle)
    first.refresh_from_db()
    assert first.time_zone == "UTC"  # rolled back with the block
    assert get_user_model().objects.filter(pk=second.pk, handle="second").exists()


@pytest.mark.django_db(transaction=True)
def test_a_transaction_of_writes_is_one_round_trip_with_its_commit(make_user, monkeypatch):
    """Two round trips: psycopg's BEGIN (it learns the transaction's state from the
    answer), then both UPDATEs with the COMMIT. Django's autocommit off and on around
    the transaction add none (psycopg would sync for each)."""
    first, second = make_user("one"), make_user("two")
    connection.ensure_connection()
    synced = _syncs(monkeypatch)
    committed = []
    with atomic_pipelined():
        model = get_user_model()
        model.objects.filter(pk=first.pk).update(time_zone="Asia/Tokyo")
        model.objects.filter(pk=second.pk).update(time_zone="Europe/Berlin")
        transaction.on_commit(lambda: committed.append(True))
    assert len(synced) == 2
    assert committed == [True]
    zones = get_user_model().objects.values_list("time_zone", flat=True)
    assert sorted(zones) == ["Asia/Tokyo", "Europe/Berlin"]
