"""Public ids (bazaar.ids): unguessable from one another, even within a millisecond."""

import itertools

from ulid import ULID

from bazaar import ids


def test_ids_made_in_one_millisecond_are_not_consecutive(monkeypatch):
    monkeypatch.setattr(ids._generator, "clock", lambda: 1_765_000_000_000)
    made = [ULID.from_str(ids.new_ulid()) for _ in range(50)]
    assert {ulid.milliseconds for ulid in made} == {1_765_000_000_000}
    randomness = [int.from_bytes(ulid.bytes[6:]) for ulid in made]
    assert len(set(randomness)) == 50
    assert not any(abs(b - a) < 2**16 for a, b in itertools.pairwise(randomness))


def test_chat_ids_made_in_one_millisecond_keep_the_order_they_were_made_in(monkeypatch):
    monkeypatch.setattr(ids._ordered_generator, "clock", lambda: 1_765_000_000_000)
    made = [ids.new_ordered_ulid() for _ in range(50)]
    assert made == sorted(made) and len(set(made)) == 50
