"""The stall document's `offers` array: entries appended, updated in place, trimmed."""

from offers.ladder import OFFERS_KEEP, offer_entry_append, offer_entry_set
from stalls.room.document import new_doc


def entry(number: int, status: str = "declined", **extra) -> dict:
    return {"id": f"{number:026d}", "status": status, "amount_cents": number, **extra}


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
