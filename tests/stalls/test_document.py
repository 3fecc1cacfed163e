"""The stall document: server-written, stored in order, rebuilt by replay, compacted."""

import random

import pytest
from django.db import transaction

from stalls.models import StallDocumentUpdate
from stalls.room import document
from stalls.room.document import (
    chat_entry_insert,
    chat_entry_remove,
    document_change,
    document_compact,
    document_snapshot,
    document_state,
    new_doc,
    presence_set,
)


def entry(message_id: str, text: str = "hello") -> dict:
    return {
        "id": message_id,
        "author": "someone",
        "author_id": "X",
        "text": text,
        "at": "2026-11-28T09:00:00+00:00",
        "mentions": [],
    }


def write(stall, change):
    with transaction.atomic():
        return document_change(stall_id=stall.pk, stall_public_id=stall.public_id, change=change)


def forget_replicas():
    """As after a restart, or in another process: nothing cached in memory."""
    document._replicas.clear()


@pytest.mark.django_db
def test_changes_are_stored_in_order_and_a_fresh_replica_replays_them(stall):
    for number in range(5):
        write(stall, lambda doc, n=number: chat_entry_insert(doc, entry(f"01J{n:023d}")))
    write(stall, lambda doc: presence_set(doc, "U1", {"id": "U1", "handle": "ann"}))
    before = document_snapshot(stall_id=stall.pk)
    forget_replicas()
    after = document_snapshot(stall_id=stall.pk)
    assert after == before
    assert [e["id"] for e in after["chat"]] == [f"01J{n:023d}" for n in range(5)]
    assert after["presence"] == {"U1": {"id": "U1", "handle": "ann"}}
    assert StallDocumentUpdate.objects.count() == 6


@pytest.mark.django_db
def test_chat_entries_are_kept_in_message_id_order_whatever_the_commit_order(stall):
    for message_id in ["01B", "01D", "01A", "01C"]:
        write(stall, lambda doc, m=message_id: chat_entry_insert(doc, entry(m)))
    assert [e["id"] for e in document_snapshot(stall_id=stall.pk)["chat"]] == [
        "01A",
        "01B",
        "01C",
        "01D",
    ]


@pytest.mark.django_db
def test_only_recent_chat_is_kept_in_the_document(stall, monkeypatch):
    monkeypatch.setattr(document, "CHAT_KEEP", 3)
    for number in range(6):
        write(stall, lambda doc, n=number: chat_entry_insert(doc, entry(f"01M{n}")))
    assert [e["id"] for e in document_snapshot(stall_id=stall.pk)["chat"]] == [
        "01M3",
        "01M4",
        "01M5",
    ]


@pytest.mark.django_db
def test_a_rolled_back_change_never_reaches_any_replica(stall):
    write(stall, lambda doc: chat_entry_insert(doc, entry("01KEEP")))
    with pytest.raises(RuntimeError), transaction.atomic():
        document_change(
            stall_id=stall.pk,
            stall_public_id=stall.public_id,
            change=lambda doc: chat_entry_insert(doc, entry("01GONE")),
        )
        raise RuntimeError("the rest of the transaction failed")
    assert [e["id"] for e in document_snapshot(stall_id=stall.pk)["chat"]] == ["01KEEP"]


@pytest.mark.django_db(transaction=True)
def test_a_change_outside_a_transaction_is_refused(stall):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        document_change(stall_id=stall.pk, stall_public_id=stall.public_id, change=lambda d: None)


@pytest.mark.django_db
def test_a_reconnecting_client_receives_only_what_it_missed(stall):
    write(stall, lambda doc: chat_entry_insert(doc, entry("01A", "first")))
    client = new_doc()
    client.apply_update(document_state(stall_id=stall.pk).update)
    write(stall, lambda doc: chat_entry_insert(doc, entry("01B", "second")))
    full = document_state(stall_id=stall.pk).update
    missed = document_state(stall_id=stall.pk, state_vector=client.get_state()).update
    assert len(missed) < len(full)
    client.apply_update(missed)
    assert [e["text"] for e in client["chat"].to_py()] == ["first", "second"]


@pytest.mark.django_db
def test_compaction_starts_a_new_epoch_with_the_same_content(stall):
    for number in range(4):
        write(stall, lambda doc, n=number: chat_entry_insert(doc, entry(f"01C{n}")))
    write(stall, lambda doc: chat_entry_remove(doc, "01C0"))
    before = document_snapshot(stall_id=stall.pk)
    old_epoch = document_state(stall_id=stall.pk).epoch
    new_epoch = document_compact(stall_id=stall.pk, stall_public_id=stall.public_id)
    assert new_epoch == old_epoch + 1
    assert StallDocumentUpdate.objects.filter(epoch=old_epoch).count() == 0
    assert StallDocumentUpdate.objects.filter(epoch=new_epoch).count() == 1
    assert document_snapshot(stall_id=stall.pk) == before
    forget_replicas()
    assert document_snapshot(stall_id=stall.pk) == before
    # Changes after compaction build on the new epoch.
    write(stall, lambda doc: chat_entry_insert(doc, entry("01C9")))
    assert document_snapshot(stall_id=stall.pk)["chat"][-1]["id"] == "01C9"


def test_replicas_that_saw_the_same_updates_in_different_orders_converge():
    """Updates from independent writers (as from two processes before either saw the
    other's) may reach a replica in any order; every order gives the same state."""
    writers = [new_doc() for _ in range(3)]
    updates = []
    for number in range(12):
        writer = writers[number % 3]
        before = writer.get_state()
        with writer.transaction():
            chat_entry_insert(writer, entry(f"01R{number:02d}", f"message {number}"))
            presence_set(writer, f"U{number}", {"handle": f"user{number}"})
        updates.append(writer.get_update(before))

    def replica(order):
        doc = new_doc()
        for index in order:
            doc.apply_update(updates[index])
        return {name: doc[name].to_py() for name in ("chat", "presence")}

    in_order = replica(range(len(updates)))
    shuffled = list(range(len(updates)))
    random.Random(7).shuffle(shuffled)
    assert replica(shuffled) == in_order
    assert replica(reversed(range(len(updates)))) == in_order
    assert len(in_order["chat"]) == 12 and len(in_order["presence"]) == 12
