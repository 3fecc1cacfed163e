"""Events are recorded after commit, in bulk, and never by a rolled-back action."""

import json

import pytest
from django.db import transaction

from analytics.crowd import crowd_by_section, crowd_gone, crowd_seen
from analytics.models import Event, Kind
from analytics.recording import buffer, events_flush, record, record_many


class Thing:
    """A stand-in for a stall or an item: record() reads only their ids."""

    def __init__(self, pk, section_id=None, stall_id=None):
        self.pk, self.section_id, self.stall_id = pk, section_id, stall_id


@pytest.mark.django_db(transaction=True)
def test_an_event_waits_for_commit_and_is_written_by_the_flush():
    with transaction.atomic():
        record(Kind.OFFER_MADE, visitor="buyer", item=Thing(5, stall_id=3), amount_cents=900)
        assert buffer().take(10) == []  # nothing before commit
    assert Event.objects.count() == 0  # buffered, not written by the action
    assert events_flush() == 1
    event = Event.objects.get()
    assert (event.kind, event.visitor, event.item_id, event.stall_id, event.amount_cents) == (
        "offer_made",
        "buyer",
        5,
        3,
        900,
    )
    assert event.recorded_at >= event.occurred_at


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_action_records_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Kind.CHAT_SENT, visitor="someone", stall=Thing(3, section_id=1))
        raise RuntimeError("the action failed")
    assert events_flush() == 0


@pytest.mark.django_db(transaction=True)
def test_many_events_of_one_kind_are_appended_at_once_after_commit(monkeypatch):
    appends = []
    kept = type(buffer())
    monkeypatch.setattr(kept, "push", lambda self, entry: appends.append([entry]))
    monkeypatch.setattr(kept, "push_many", lambda self, entries: appends.append(entries))
    bids = [
        {"visitor": f"bidder{n}", "item": Thing(5, stall_id=3), "amount_cents": n} for n in range(3)
    ]
    with transaction.atomic():
        record_many(Kind.BID_PLACED, bids)
        assert appends == []  # nothing before commit
    (entries,) = appends  # one append for the three
    assert [json.loads(entry)["visitor"] for entry in entries] == ["bidder0", "bidder1", "bidder2"]
    assert {json.loads(entry)["stall_id"] for entry in entries} == {3}
    with pytest.raises(RuntimeError), transaction.atomic():
        record_many(Kind.BID_PLACED, bids)
        raise RuntimeError("the batch failed")
    assert len(appends) == 1


@pytest.mark.django_db(transaction=True)
def test_many_events_are_written_by_the_flush_as_one_by_one():
    with transaction.atomic():
        record_many(Kind.BID_PLACED, [{"visitor": "a", "amount_cents": 1}, {"visitor": "b"}])
    assert events_flush() == 2
    assert sorted(Event.objects.values_list("kind", "visitor", "amount_cents")) == [
        ("bid_placed", "a", 1),
        ("bid_placed", "b", None),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_flush_writes_in_batches(monkeypatch):
    monkeypatch.setattr("analytics.recording.FLUSH_BATCH", 7)
    for n in range(20):
        record(Kind.GRID_VIEWED, visitor=f"v{n}", section_id=1)
    assert events_flush() == 20
    assert Event.objects.count() == 20


def test_the_crowd_counts_each_person_once_where_they_are_now():
    crowd_seen(person="a", section_id=1)
    crowd_seen(person="b", section_id=1)
    crowd_seen(person="a", section_id=2)
    crowd_seen(person="", section_id=2)  # nobody: ignored
    assert crowd_by_section() == {1: 1, 2: 1}
    crowd_gone(person="b")
    assert crowd_by_section() == {2: 1}


def test_the_crowd_forgets_whoever_was_not_seen_again(settings):
    import time

    crowd_seen(person="a", section_id=1, seconds=0.05)
    crowd_seen(person="b", section_id=1, seconds=30)
    time.sleep(0.1)
    assert crowd_by_section() == {1: 1}
