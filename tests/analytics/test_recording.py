"""Events are recorded after commit, in bulk, and never by a rolled-back action."""

import pytest
from django.db import transaction

from analytics.crowd import crowd_by_section, crowd_gone, crowd_seen
from analytics.models import Event, Kind
from analytics.recording import buffer, events_flush, record


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
