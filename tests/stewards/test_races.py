"""Real threads on PostgreSQL: stewards racing over the same stall or the same slot
get one result; the other gets a clear message and nothing half-done."""

import pytest

from bazaar.errors import Conflict
from governance.models import Role, StewardAction
from governance.services import role_grant
from stalls.models import Stall
from stalls.moves import Place, stall_move
from tests.conftest import race


def _mover(actor, stall, origin, target, occupant=""):
    return lambda: stall_move(
        actor=actor,
        stall_public_id=stall.public_id,
        origin=Place(*origin),
        target=Place(*target),
        expected_occupant=occupant,
        reason="Tidying",
    )


def _places() -> set:
    return set(Stall.objects.values_list("section__x", "section__y", "slot"))


@pytest.fixture
def two_stewards(make_user):
    stewards = [make_user("steward_a"), make_user("steward_b")]
    for steward in stewards:
        role_grant(user=steward, role=Role.STEWARD)
    return stewards


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_stewards_filling_one_free_slot_get_one_move(
    require_postgres, make_stall, two_stewards
):
    a, b = two_stewards
    lamps = make_stall("lamps", slot=0)
    books = make_stall("books", slot=1)
    outcomes = race(_mover(a, lamps, (0, 0, 0), (1, 1, 4)), _mover(b, books, (0, 0, 1), (1, 1, 4)))
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(conflicts) == 1, outcomes
    assert "just took section 1/1, slot 5" in conflicts[0].message
    assert Stall.objects.filter(section__x=1, section__y=1, slot=4).count() == 1
    assert StewardAction.objects.count() == 1
    assert None not in {place[2] for place in _places()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_stewards_moving_one_stall_get_one_move(require_postgres, make_stall, two_stewards):
    a, b = two_stewards
    lamps = make_stall("lamps", slot=0)
    books = make_stall("books", x=2, y=2, slot=3)
    outcomes = race(
        _mover(a, lamps, (0, 0, 0), (1, 0, 0)),
        _mover(b, lamps, (0, 0, 0), (2, 2, 3), occupant=books.public_id),
    )
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(conflicts) == 1, outcomes
    assert "moved meanwhile" in conflicts[0].message
    assert StewardAction.objects.count() == 1
    lamps.refresh_from_db()
    books.refresh_from_db()
    assert len(_places()) == 2 and None not in {place[2] for place in _places()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_crossed_swaps_of_one_pair_never_deadlock(require_postgres, make_stall, two_stewards):
    a, b = two_stewards
    lamps = make_stall("lamps", slot=0)
    books = make_stall("books", x=1, y=0, slot=0)
    outcomes = race(
        _mover(a, lamps, (0, 0, 0), (1, 0, 0), occupant=books.public_id),
        _mover(b, books, (1, 0, 0), (0, 0, 0), occupant=lamps.public_id),
    )
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    assert _places() == {(0, 0, 0), (1, 0, 0)}
    assert Stall.objects.get(pk=lamps.pk).section.x == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_votes_sent_at_once_count_once(require_postgres, make_stall, make_user):
    from datetime import timedelta

    from django.utils import timezone

    from stalls.models import SellerProfile
    from stewards.elections import candidacy_stand, election_create, vote_cast
    from stewards.models import Election, Vote

    ops = make_user("opsperson")
    role_grant(user=ops, role=Role.OPS)
    stalls = [make_stall(f"seller{n}", slot=n) for n in range(3)]
    SellerProfile.objects.update(
        kyc_status="approved", created_at=timezone.now() - timedelta(days=90)
    )
    now = timezone.now()
    election = election_create(
        actor=ops,
        title="Race",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=1),
    )
    a = candidacy_stand(user=stalls[0].seller.user, election=election, statement="A")
    b = candidacy_stand(user=stalls[1].seller.user, election=election, statement="B")
    Election.objects.filter(pk=election.pk).update(opens_at=now - timedelta(minutes=1))
    election.refresh_from_db()
    voter = stalls[2].seller.user

    outcomes = race(
        *[
            (lambda c=c: vote_cast(voter=voter, election=election, candidacy_public_id=c.public_id))
            for c in (a, b, a, b)
        ]
    )
    assert sum(isinstance(o, Conflict) for o in outcomes) == 3, outcomes
    assert Vote.objects.filter(voter=voter).count() == 1
