"""A steward moves a stall: to a free slot, onto another stall (a swap), and what a
stale map or a missing reason gets."""

import pytest

from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.models import StewardAction
from notifications.models import Kind, Notice
from stalls.models import Stall
from stalls.moves import Place, stall_move


def _move(actor, stall, origin, target, occupant="", reason="Grouping the lamps"):
    return stall_move(
        actor=actor,
        stall_public_id=stall.public_id,
        origin=Place(*origin),
        target=Place(*target),
        expected_occupant=occupant,
        reason=reason,
    )


def _where(stall) -> tuple[int, int, int]:
    stall = Stall.objects.select_related("section").get(pk=stall.pk)
    return stall.section.x, stall.section.y, stall.slot


@pytest.mark.django_db
def test_a_steward_moves_a_stall_to_a_free_slot_audited_and_told(make_stall, steward, on_commit):
    lamps = make_stall("lamps", x=0, y=0, slot=2)
    result = on_commit(_move, steward, lamps, (0, 0, 2), (1, 0, 5))

    assert _where(lamps) == (1, 0, 5)
    assert result.swapped_with is None
    record = StewardAction.objects.get()
    assert record.actor == steward
    assert record.action == StewardAction.Action.STALL_MOVE
    assert record.reason == "Grouping the lamps"
    assert record.detail["from"] == [0, 0, 2] and record.detail["to"] == [1, 0, 5]
    notice = Notice.objects.get(recipient=lamps.seller.user)
    assert notice.kind == Kind.STALL_MOVED
    assert "section 1/0, slot 6" in notice.title
    assert "Grouping the lamps" in notice.body


@pytest.mark.django_db
def test_dropping_a_stall_on_another_swaps_them_and_tells_both_sellers(
    make_stall, steward, on_commit
):
    lamps = make_stall("lamps", x=0, y=0, slot=2)
    books = make_stall("books", x=1, y=1, slot=0)
    result = on_commit(_move, steward, lamps, (0, 0, 2), (1, 1, 0), occupant=books.public_id)

    assert _where(lamps) == (1, 1, 0)
    assert _where(books) == (0, 0, 2)
    assert result.swapped_with.pk == books.pk
    assert StewardAction.objects.get().action == StewardAction.Action.STALL_SWAP
    told = set(Notice.objects.values_list("recipient__handle", flat=True))
    assert told == {"lamps", "books"}


@pytest.mark.django_db
def test_a_swap_within_one_section_works(make_stall, steward):
    lamps = make_stall("lamps", slot=0)
    books = make_stall("books", slot=8)
    _move(steward, lamps, (0, 0, 0), (0, 0, 8), occupant=books.public_id)
    assert (_where(lamps), _where(books)) == ((0, 0, 8), (0, 0, 0))


@pytest.mark.django_db
def test_both_sections_open_pages_are_told(
    make_stall, steward, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("bazaar.broadcast.broadcast_now", lambda group, event: sent.append(event))
    lamps = make_stall("lamps", slot=0)
    with django_capture_on_commit_callbacks(execute=True):
        _move(steward, lamps, (0, 0, 0), (2, 1, 4))
    changed = [
        (e["payload"]["x"], e["payload"]["y"])
        for e in sent
        if e.get("payload", {}).get("type") == "section_changed"
    ]
    assert sorted(changed) == [(0, 0), (2, 1)]


@pytest.mark.django_db
def test_a_stale_map_gets_a_clear_message_and_changes_nothing(make_stall, steward):
    lamps = make_stall("lamps", slot=0)
    books = make_stall("books", slot=1)
    with pytest.raises(Conflict, match="was moved meanwhile"):
        _move(steward, lamps, (0, 0, 3), (1, 0, 0))
    with pytest.raises(Conflict, match="just took"):
        _move(steward, lamps, (0, 0, 0), (0, 0, 1))  # they saw slot 2 free
    with pytest.raises(Conflict, match="moved meanwhile"):
        _move(steward, lamps, (0, 0, 0), (0, 0, 5), occupant=books.public_id)
    assert (_where(lamps), _where(books)) == ((0, 0, 0), (0, 0, 1))
    assert not StewardAction.objects.exists()


@pytest.mark.django_db
def test_moves_need_a_steward_a_reason_and_a_real_slot(make_stall, steward, make_user):
    lamps = make_stall("lamps", slot=0)
    with pytest.raises(NotAllowed, match="Only stewards can move stalls"):
        _move(lamps.seller.user, lamps, (0, 0, 0), (1, 0, 0))
    with pytest.raises(Invalid, match="Say why"):
        _move(steward, lamps, (0, 0, 0), (1, 0, 0), reason="   ")
    with pytest.raises(Invalid, match="no section 9/9"):
        _move(steward, lamps, (0, 0, 0), (9, 9, 0))
    with pytest.raises(Invalid, match="slot from 1 to 9"):
        _move(steward, lamps, (0, 0, 0), (1, 0, 9))
    with pytest.raises(Invalid, match="already in that slot"):
        _move(steward, lamps, (0, 0, 0), (0, 0, 0))
    assert _where(lamps) == (0, 0, 0)
