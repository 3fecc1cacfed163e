"""Steward elections: standing, one vote each, quorum, majority, ties, approval, terms."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.models import ChatSanction, Role, StewardAction
from governance.selectors import user_is_steward
from governance.services import (
    STEWARD_GROUP,
    STEWARD_PERMISSIONS,
    role_grant,
    sanction_impose,
)
from stalls.models import SellerProfile
from stewards.elections import (
    candidacy_stand,
    election_approve,
    election_create,
    election_tally,
    steward_term_end,
    steward_terms_end_due,
    vote_cast,
)
from stewards.models import Election, StewardTerm, Vote


@pytest.fixture
def ops(make_user):
    user = make_user("opsperson")
    role_grant(user=user, role=Role.OPS)
    return user


def _seasoned(stall, days=60):
    """The stall's seller: KYC approved and selling for `days`."""
    SellerProfile.objects.filter(pk=stall.seller_id).update(
        kyc_status="approved", created_at=timezone.now() - timedelta(days=days)
    )
    return stall.seller.user


@pytest.fixture
def sellers(make_stall):
    """Ten sellers with stalls (the electorate), the first three seasoned."""
    stalls = [make_stall(f"seller{n}", x=n % 3, y=n // 3 % 3, slot=n // 9) for n in range(10)]
    return [_seasoned(stall) if n < 3 else stall.seller.user for n, stall in enumerate(stalls)]


def _election(ops, *, quorum=20):
    now = timezone.now()
    return election_create(
        actor=ops,
        title="Winter stewards",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=3),
        quorum_percent=quorum,
    )


def _move_to(election, phase):
    now = timezone.now()
    if phase == "voting":
        Election.objects.filter(pk=election.pk).update(
            opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1)
        )
    if phase == "closed":
        Election.objects.filter(pk=election.pk).update(
            opens_at=now - timedelta(days=2), closes_at=now - timedelta(minutes=1)
        )
    election.refresh_from_db()
    return election


@pytest.mark.django_db
def test_who_may_stand(ops, sellers, make_stall, make_user, steward):
    election = _election(ops)
    ann = candidacy_stand(user=sellers[0], election=election, statement="Fair and fast.")
    assert candidacy_stand(user=sellers[0], election=election, statement="Again").pk == ann.pk
    with pytest.raises(NotAllowed, match="KYC"):
        candidacy_stand(user=sellers[5], election=election, statement="Me")
    SellerProfile.objects.filter(user=sellers[5]).update(kyc_status="approved")
    with pytest.raises(NotAllowed, match="selling for 30 days"):
        candidacy_stand(user=sellers[5], election=election, statement="Me")
    with pytest.raises(NotAllowed, match="Only sellers"):
        candidacy_stand(user=make_user("buyeronly"), election=election, statement="Me")
    SellerProfile.objects.filter(user=sellers[1]).update(kyc_status="pending")
    with pytest.raises(NotAllowed, match="KYC"):
        candidacy_stand(user=sellers[1], election=election, statement="Me")
    sanction_impose(
        user=sellers[2],
        kind=ChatSanction.Kind.MUTE,
        reason="Spam",
        duration=timedelta(days=1),
        imposed_by=steward,
    )
    with pytest.raises(NotAllowed, match="sanction"):
        candidacy_stand(user=sellers[2], election=election, statement="Me")
    _move_to(election, "voting")
    with pytest.raises(Conflict, match="Standing closed"):
        candidacy_stand(
            user=_seasoned(make_stall("late", x=2, y=2, slot=8)), election=election, statement="Me"
        )


@pytest.fixture
def race_of_two(ops, sellers):
    election = _election(ops)
    a = candidacy_stand(user=sellers[0], election=election, statement="A")
    b = candidacy_stand(user=sellers[1], election=election, statement="B")
    return _move_to(election, "voting"), a, b


def _votes(election, candidacy, voters):
    for voter in voters:
        vote_cast(voter=voter, election=election, candidacy_public_id=candidacy.public_id)


@pytest.mark.django_db
def test_one_vote_each_no_buyers_no_self_votes_and_secret_until_the_close(
    race_of_two, sellers, make_user
):
    election, a, b = race_of_two
    _votes(election, a, [sellers[4]])
    with pytest.raises(Conflict, match="already voted"):
        _votes(election, b, [sellers[4]])
    with pytest.raises(NotAllowed, match="Only sellers with a stall"):
        _votes(election, a, [make_user("buyeronly")])
    with pytest.raises(Invalid, match="cannot vote for yourself"):
        _votes(election, a, [sellers[0]])
    tally = election_tally(election)
    assert (tally.votes, tally.eligible, tally.quorum_needed) == (1, 10, 2)
    assert tally.counts == [] and tally.winner is None  # secret while open


@pytest.mark.django_db
def test_a_majority_over_the_quorum_wins_and_ops_approve_it(race_of_two, sellers, ops, on_commit):
    election, a, b = race_of_two
    _votes(election, a, sellers[3:6])
    _votes(election, b, sellers[6:8])
    _move_to(election, "closed")
    tally = election_tally(election)
    assert tally.quorum_met and tally.majority_needed == 3
    assert tally.winner.pk == a.pk
    assert [count for _, count in tally.counts] == [3, 2]

    term = on_commit(election_approve, actor=ops, election_public_id=election.public_id)
    assert term.user == sellers[0] and user_is_steward(user=sellers[0])
    assert sellers[0].groups.filter(name=STEWARD_GROUP).exists()
    assert StewardAction.objects.filter(action="election_approve", actor=ops).exists()
    with pytest.raises(Conflict, match="approved already"):
        election_approve(actor=ops, election_public_id=election.public_id)


@pytest.mark.django_db
def test_a_missed_quorum_a_tie_or_no_majority_elects_nobody(race_of_two, sellers, ops, make_user):
    election, a, b = race_of_two
    _votes(election, a, sellers[3:4])
    _move_to(election, "closed")
    assert "quorum was 2" in election_tally(election).outcome
    with pytest.raises(Conflict, match="No result"):
        election_approve(actor=ops, election_public_id=election.public_id)

    Vote.objects.all().delete()
    _move_to(election, "voting")
    _votes(election, a, sellers[3:5])
    _votes(election, b, sellers[5:7])
    _move_to(election, "closed")
    tally = election_tally(election)
    assert tally.tie and tally.winner is None and "a tie" in tally.outcome


@pytest.mark.django_db
def test_only_ops_approve_and_stewards_cannot(race_of_two, sellers, steward):
    election, a, _ = race_of_two
    _votes(election, a, sellers[3:6])
    _move_to(election, "closed")
    with pytest.raises(NotAllowed, match="Only ops"):
        election_approve(actor=steward, election_public_id=election.public_id)


@pytest.mark.django_db
def test_steward_approve_command(race_of_two, sellers):
    election, a, _ = race_of_two
    with pytest.raises(CommandError, match="not closed"):
        call_command("steward_approve", election.public_id)
    _votes(election, a, sellers[3:6])
    _move_to(election, "closed")
    call_command("steward_approve", election.public_id)
    assert StewardTerm.objects.get().user == sellers[0]


@pytest.mark.django_db
def test_terms_end_or_are_revoked_and_the_role_goes(race_of_two, sellers, ops):
    election, a, _ = race_of_two
    _votes(election, a, sellers[3:6])
    _move_to(election, "closed")
    term = election_approve(actor=ops, election_public_id=election.public_id)
    assert steward_terms_end_due() == 0
    StewardTerm.objects.filter(pk=term.pk).update(ends_at=timezone.now())
    assert steward_terms_end_due() == 1
    assert not user_is_steward(user=sellers[0])
    assert not sellers[0].groups.filter(name=STEWARD_GROUP).exists()
    with pytest.raises(NotAllowed):
        steward_term_end(term=term, actor=sellers[1], reason="No")


@pytest.mark.django_db
def test_the_steward_group_holds_exactly_the_steward_permissions(steward):
    group = Group.objects.get(name=STEWARD_GROUP)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert held == STEWARD_PERMISSIONS
    steward.refresh_from_db()
    assert steward.get_all_permissions() == STEWARD_PERMISSIONS
