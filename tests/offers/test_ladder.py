"""The stall document's `offers` array: entries appended, updated in place, trimmed."""

from offers.ladder import OFFERS_KEEP, RECENT_ENTRIES, offer_entry_append, offer_entry_set
from stalls.room.document import new_doc


def entry(number: int, status: str = "declined", **extra) -> dict:
    return {
        "id": f"{number:026d}",
        "status": status,
        "amount_cents": number,
        "updated_at": "2026-12-06T13:00:00+00:00",
        **extra,
    }


def ids(doc) -> list[int]:
    return [int(offer["id"]) for offer in doc["offers"].to_py()]


def test_an_update_writes_the_changed_keys_of_the_entry_it_finds():
    doc = new_doc()
    for number in range(3):
        offer_entry_append(doc, entry(number, "pending"))
    offer_entry_set(doc, entry(0, "accepted"))
    assert ids(doc) == [0, 1, 2]
    assert [offer["status"] for offer in doc["offers"].to_py()] == [
        "accepted",
        "pending",
        "pending",
    ]


def test_an_update_of_an_entry_no_longer_held_appends_it():
    doc = new_doc()
    offer_entry_append(doc, entry(1))
    offer_entry_set(doc, entry(7, "expired"))
    assert ids(doc) == [1, 7]


def test_an_older_state_landing_late_does_not_overwrite_a_newer_one():
    doc = new_doc()
    offer_entry_append(doc, entry(1, "accepted", updated_at="2026-12-06T13:00:02+00:00"))
    offer_entry_set(doc, entry(1, "pending", updated_at="2026-12-06T13:00:01+00:00"))
    assert doc["offers"].to_py()[0]["status"] == "accepted"
    offer_entry_set(doc, entry(1, "purchased", updated_at="2026-12-06T13:00:03+00:00"))
    assert doc["offers"].to_py()[0]["status"] == "purchased"


def test_a_new_offers_entry_is_found_among_the_newest_before_it_is_appended():
    doc = new_doc()
    for number in range(40):
        offer_entry_append(doc, entry(number, "pending"))
    # A later write (its counter) already added offer 39; its own write lands late.
    offer_entry_set(doc, entry(39, "pending"), within=RECENT_ENTRIES)
    assert ids(doc) == list(range(40))
    offer_entry_set(doc, entry(41, "pending"), within=RECENT_ENTRIES)
    assert ids(doc)[-1] == 41 and len(ids(doc)) == 41


def test_past_the_limit_the_oldest_finished_entries_go_and_live_ones_stay():
    doc = new_doc()
    offer_entry_append(doc, entry(0, "pending"))
    offer_entry_append(doc, entry(1, "accepted"))
    for number in range(2, OFFERS_KEEP + 3):
        offer_entry_append(doc, entry(number))
    held = ids(doc)
    assert len(held) == OFFERS_KEEP
    assert held[:2] == [0, 1]
    assert held[2:] == list(range(5, OFFERS_KEEP + 3))
