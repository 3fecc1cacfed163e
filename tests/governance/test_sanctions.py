from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from bazaar.errors import Invalid, NotAllowed
from governance.models import ChatSanction, Role
from governance.selectors import Restriction, chat_restriction
from governance.services import role_grant, sanction_impose, sanction_lift

MUTE = ChatSanction.Kind.MUTE
BAN = ChatSanction.Kind.BAN
HOUR = timedelta(hours=1)


@pytest.fixture
def steward(make_user):
    user = make_user("warden")
    role_grant(user=user, role=Role.STEWARD)
    return user


@pytest.fixture
def ops(make_user):
    user = make_user("operator")
    role_grant(user=user, role=Role.OPS)
    return user


@pytest.fixture
def chatter(make_user):
    return make_user("chatter")


def _impose(steward, user, kind=MUTE, *, stall=None, duration=HOUR, reason="spamming"):
    return sanction_impose(
        user=user, kind=kind, reason=reason, stall=stall, duration=duration, imposed_by=steward
    )


def test_a_user_without_sanctions_may_chat_and_asking_costs_one_query(
    chatter, stall, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert chat_restriction(user=chatter, stall=stall) is None
    assert chat_restriction(user=AnonymousUser(), stall=stall) is None


def test_a_stall_mute_applies_in_that_stall_only(steward, chatter, stall, make_stall):
    # given
    other = make_stall("neighbour", slot=1)
    # when
    _impose(steward, chatter, stall=stall)
    # then
    restriction = chat_restriction(user=chatter, stall=stall)
    assert restriction.kind == MUTE
    assert not restriction.market_wide
    assert restriction.refuses_chat and not restriction.refuses_entry
    assert chat_restriction(user=chatter, stall=other) is None
    assert chat_restriction(user=chatter, stall=None) is None


def test_a_market_wide_ban_applies_in_every_stall(steward, chatter, stall, make_stall):
    # given
    other = make_stall("neighbour", slot=1)
    # when
    _impose(steward, chatter, BAN, duration=None, reason="abuse")
    # then
    for where in (stall, other, None):
        restriction = chat_restriction(user=chatter, stall=where)
        assert (restriction.kind, restriction.market_wide) == (BAN, True)
        assert restriction.refuses_entry


def test_expired_lifted_and_future_sanctions_do_not_apply(steward, chatter, stall):
    # given
    now = timezone.now()
    expired = _impose(steward, chatter, BAN)
    ChatSanction.objects.filter(pk=expired.pk).update(starts_at=now - 2 * HOUR, ends_at=now - HOUR)
    lifted = _impose(steward, chatter, BAN, duration=None)
    sanction_lift(sanction=lifted, lifted_by=steward)
    future = _impose(steward, chatter, BAN)
    ChatSanction.objects.filter(pk=future.pk).update(starts_at=now + HOUR, ends_at=now + 2 * HOUR)
    # when
    restriction = chat_restriction(user=chatter, stall=stall)
    # then
    assert restriction is None


def test_a_ban_wins_over_a_mute_and_the_longer_of_two_wins(steward, chatter, stall):
    # given
    _impose(steward, chatter, MUTE, duration=None, reason="market mute")
    _impose(steward, chatter, BAN, stall=stall, duration=HOUR, reason="short ban")
    _impose(steward, chatter, BAN, stall=stall, duration=3 * HOUR, reason="long ban")
    # when
    restriction = chat_restriction(user=chatter, stall=stall)
    # then
    assert (restriction.kind, restriction.reason) == (BAN, "long ban")
    # elsewhere only the market-wide mute applies
    assert chat_restriction(user=chatter, stall=None).reason == "market mute"


def test_the_message_says_what_where_until_when_and_why():
    today = timezone.now().astimezone(UTC).replace(hour=14, minute=5)
    mute = Restriction(kind=MUTE, reason="spamming", ends_at=today, market_wide=False)
    ban = Restriction(kind=BAN, reason="abuse.", ends_at=None, market_wide=True)
    later = Restriction(
        kind=MUTE,
        reason="",
        ends_at=datetime(today.year + 1, 12, 3, 9, 30, tzinfo=UTC),
        market_wide=True,
    )
    assert mute.message == "You are muted in this stall until 14:05 UTC: spamming."
    assert ban.message == "You are banned from chatting in the market: abuse."
    assert later.message == f"You are muted in the market until 3 Dec {today.year + 1} 09:30 UTC."


def test_imposing_records_who_and_until_when(steward, chatter, stall):
    # when
    sanction = _impose(steward, chatter, stall=stall, reason="  spamming \n links ")
    # then
    assert sanction.created_by == steward
    assert sanction.reason == "spamming links"
    assert sanction.ends_at - sanction.starts_at == HOUR
    assert sanction.lifted_at is None


def test_only_stewards_and_ops_impose(chatter, make_user):
    # given
    buyer = make_user("bystander")
    # when / then
    with pytest.raises(NotAllowed):
        _impose(buyer, chatter)
    assert not ChatSanction.objects.exists()


def test_a_steward_cannot_sanction_ops_but_ops_can_sanction_a_steward(steward, ops):
    with pytest.raises(NotAllowed, match="ops"):
        _impose(steward, ops)
    assert _impose(ops, steward).user == steward


def test_nobody_sanctions_themselves(steward, ops):
    for user in (steward, ops):
        with pytest.raises(NotAllowed, match="yourself"):
            _impose(user, user)


def test_a_sanction_needs_a_reason_and_a_positive_duration(steward, chatter):
    with pytest.raises(Invalid):
        _impose(steward, chatter, reason="   ")
    with pytest.raises(Invalid):
        _impose(steward, chatter, duration=timedelta(0))
    with pytest.raises(Invalid):
        _impose(steward, chatter, kind="shadowban")
    assert not ChatSanction.objects.exists()


def test_lifting_ends_a_sanction_once(steward, ops, chatter, stall):
    # given
    sanction = _impose(steward, chatter, stall=stall)
    # when
    lifted = sanction_lift(sanction=sanction, lifted_by=ops)
    again = sanction_lift(sanction=sanction, lifted_by=steward)
    # then
    assert lifted.lifted_by == ops
    assert again.lifted_at == lifted.lifted_at and again.lifted_by == ops
    assert chat_restriction(user=chatter, stall=stall) is None


def test_only_stewards_lift_and_never_their_own(steward, ops, chatter):
    sanction = _impose(ops, steward)
    with pytest.raises(NotAllowed):
        sanction_lift(sanction=sanction, lifted_by=chatter)
    with pytest.raises(NotAllowed, match="your own"):
        sanction_lift(sanction=sanction, lifted_by=steward)


# The admin


def test_a_steward_imposes_a_sanction_from_the_admin(client, steward, chatter, stall):
    # given
    client.force_login(steward)
    form = client.get(reverse("admin:governance_chatsanction_add"))
    assert form.status_code == 200
    # when
    response = client.post(
        reverse("admin:governance_chatsanction_add"),
        {
            "handle": "CHATTER",
            "kind": "mute",
            "stall": stall.pk,
            "duration": "1h",
            "reason": "spamming",
        },
    )
    # then
    assert response.status_code == 302
    sanction = ChatSanction.objects.get()
    assert (sanction.user, sanction.stall, sanction.created_by) == (chatter, stall, steward)
    assert sanction.ends_at - sanction.starts_at == HOUR
    assert chat_restriction(user=chatter, stall=stall).reason == "spamming"


def test_the_admin_refuses_what_the_service_refuses(client, steward, ops):
    # given
    client.force_login(steward)
    # when
    response = client.post(
        reverse("admin:governance_chatsanction_add"),
        {"handle": ops.handle, "kind": "ban", "duration": "lifted", "reason": "no"},
    )
    # then
    assert response.status_code == 200
    assert "Stewards cannot sanction ops." in response.content.decode()
    assert not ChatSanction.objects.exists()


def test_a_steward_lifts_sanctions_with_the_admin_action(client, steward, ops, chatter, stall):
    # given
    sanctions = [_impose(ops, chatter, stall=stall), _impose(ops, chatter, BAN, duration=None)]
    client.force_login(steward)
    # when
    response = client.post(
        reverse("admin:governance_chatsanction_changelist"),
        {"action": "lift_sanctions", "_selected_action": [s.pk for s in sanctions]},
    )
    # then
    assert response.status_code == 302
    assert not ChatSanction.objects.filter(lifted_at__isnull=True).exists()
    assert set(ChatSanction.objects.values_list("lifted_by", flat=True)) == {steward.pk}
    assert chat_restriction(user=chatter, stall=stall) is None


def test_stewards_see_sanctions_but_cannot_edit_or_delete_them(client, steward, chatter):
    # given
    sanction = _impose(steward, chatter)
    client.force_login(steward)
    # when
    listing = client.get(reverse("admin:governance_chatsanction_changelist"), {"state": "active"})
    change = client.get(reverse("admin:governance_chatsanction_change", args=[sanction.pk]))
    delete = client.get(reverse("admin:governance_chatsanction_delete", args=[sanction.pk]))
    # then
    assert listing.status_code == 200
    assert "chatter" in listing.content.decode()
    assert change.status_code == 200
    assert 'name="reason"' not in change.content.decode()
    assert delete.status_code == 403


def test_a_buyer_cannot_reach_sanctions(client, chatter):
    client.force_login(chatter)
    assert client.get(reverse("admin:governance_chatsanction_changelist")).status_code == 302
    response = client.post(
        reverse("admin:governance_chatsanction_add"),
        {"handle": "chatter", "kind": "mute", "duration": "1h", "reason": "x"},
    )
    assert response.status_code == 302
    assert not ChatSanction.objects.exists()
