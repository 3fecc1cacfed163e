"""The process's ladder writer: actions committed while a write is under way go in
the next transaction together, and an offer whose write never came is found again."""

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from offers import ladder
from offers.ladder import LadderWrite, LadderWriter, ladder_sync_pending
from offers.models import Offer
from offers.services import offer_accept
from stalls.room.document import document_for_stall, document_snapshot
from tests.offers.conftest import offered


def written(stall_id: int) -> list[tuple[str, str]]:
    return [(e["id"], e["status"]) for e in document_snapshot(stall_id=stall_id)["offers"]]


def test_writes_handed_over_during_a_write_go_together_in_the_next_and_do_not_wait():
    started, release = threading.Event(), threading.Event()
    batches = []

    def write(batch):
        batches.append([w.stall_id for w in batch])
        if len(batches) == 1:
            started.set()
            release.wait(5)

    writer = LadderWriter(write)
    first = threading.Thread(target=writer.submit, args=(LadderWrite(1, "a", []),))
    first.start()
    assert started.wait(5)
    for stall_id in (2, 3):  # each returns at once: the first's thread writes them
        writer.submit(LadderWrite(stall_id, "b", []))
    assert batches == [[1]]
    release.set()
    first.join(5)
    assert batches == [[1], [2, 3]]
    writer.submit(LadderWrite(4, "c", []))  # nothing under way: written by its caller
    assert batches == [[1], [2, 3], [4]]


def test_a_failed_write_leaves_the_writer_free_for_the_next():
    batches = []

    def write(batch):
        batches.append(len(batch))
        if len(batches) == 1:
            raise RuntimeError("interrupted")

    writer = LadderWriter(write)
    with pytest.raises(RuntimeError):
        writer.submit(LadderWrite(1, "a", []))
    writer.submit(LadderWrite(2, "b", []))
    assert batches == [1, 1]


@pytest.mark.django_db
def test_two_stalls_actions_are_written_in_one_transaction(
    make_user, make_stall, make_item, monkeypatch, django_capture_on_commit_callbacks
):
    buyer = make_user("batchbuyer")
    items = [make_item(make_stall(slot=slot), price_cents=2500) for slot in range(2)]
    handed: list[LadderWrite] = []
    monkeypatch.setattr(ladder, "_writer", LadderWriter(handed.extend))
    with django_capture_on_commit_callbacks(execute=True):
        offers = [offered(buyer, item) for item in items]
    assert [write.stall_id for write in handed] == [item.stall_id for item in items]
    for item in items:
        document_for_stall(stall_id=item.stall_id)  # made with the stall's first chat line
    with CaptureQueriesContext(connection) as queries:
        ladder.ladder_write(handed)
    assert sum(q["sql"].startswith("SAVEPOINT") for q in queries.captured_queries) == 1
    for item, offer in zip(items, offers, strict=True):
        assert written(item.stall_id) == [(offer.public_id, "pending")]
    assert not Offer.objects.filter(ladder_pending=True).exists()


@pytest.mark.django_db
def test_an_action_whose_process_died_before_its_write_reaches_the_document(
    buyer, seller, item, django_capture_on_commit_callbacks
):
    """Acknowledged means committed: the offer is marked in the action's own write, and
    the sweep writes what no writer did (here: the callbacks that hand the write over
    never run, as when the process dies after the acknowledgement)."""
    with django_capture_on_commit_callbacks(execute=True):
        made = offered(buyer, item)
    with django_capture_on_commit_callbacks():  # lost with its process
        offer_accept(actor=seller, offer=made, idempotency_key="accept-key-0123456789")
    assert written(item.stall_id) == [(made.public_id, "pending")]
    assert ladder_sync_pending() == 0, "a write only milliseconds late is not redone"
    assert ladder_sync_pending(older_than=timedelta(0)) == 1
    assert written(item.stall_id) == [(made.public_id, "accepted")]
    assert ladder_sync_pending(older_than=timedelta(0)) == 0


@pytest.mark.django_db
def test_a_write_of_an_older_state_leaves_the_newer_one_marked(
    buyer, seller, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as first:
        made = offered(buyer, item)
    with django_capture_on_commit_callbacks():
        offer_accept(actor=seller, offer=made, idempotency_key="accept-key-0123456789")
    first[0]()  # the offer's first write lands after its acceptance committed
    assert Offer.objects.get(pk=made.pk).ladder_pending
    assert ladder_sync_pending(older_than=timedelta(0)) == 1
    assert written(item.stall_id) == [(made.public_id, "accepted")]


def test_a_process_forked_mid_write_starts_with_a_writer_of_its_own():
    ladder._writer._writing = True  # as if the parent forked during a write
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, b"1" if not ladder._writer._writing else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    ladder._writer._writing = False
    assert os.read(read, 1) == b"1"
