"""The authorization matrix for the stewards' endpoints: every new page and action, for
each kind of person. Stewards are limited to steward powers; ops-only actions are
refused to stewards; buyers neither vote nor stand; nobody votes twice."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from governance.models import ChatSanction, Role
from governance.reports import report_create
from governance.services import role_grant, sanction_impose
from stalls.models import PhotoUpload, SellerProfile
from stewards.elections import candidacy_stand, election_create
from stewards.models import Election
from stewards.targets import report_target
from tests.conftest import jpeg_bytes

PEOPLE = ["anonymous", "buyer", "seller", "steward", "ops"]


@pytest.fixture
def world(make_user, make_stall, steward):
    ops = make_user("opsperson")
    role_grant(user=ops, role=Role.OPS)
    buyer = make_user("buyer")
    seller_stall = make_stall("seller", slot=0)
    candidate_stall = make_stall("candidate", slot=1)
    SellerProfile.objects.update(
        kyc_status="approved", created_at=timezone.now() - timedelta(days=90)
    )
    report = report_create(
        reporter=buyer,
        target=report_target(kind="stall", public_id=candidate_stall.public_id),
        reason="spam",
        details="",
    )
    sanction = sanction_impose(
        user=buyer,
        kind=ChatSanction.Kind.MUTE,
        reason="Shouting",
        duration=timedelta(hours=1),
        imposed_by=steward,
    )
    key = default_storage.save("holding/x/held.jpg", ContentFile(jpeg_bytes()))
    held = PhotoUpload.objects.create(
        stall=seller_stall, key=key, direct=False, status="held", score=0.7
    )
    now = timezone.now()
    standing = election_create(
        actor=ops,
        title="Standing",
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=2),
    )
    voting = election_create(
        actor=ops,
        title="Voting",
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(days=2),
    )
    candidacy = candidacy_stand(user=candidate_stall.seller.user, election=voting, statement="Me")
    Election.objects.filter(pk=voting.pk).update(opens_at=now - timedelta(hours=1))
    return {
        "buyer": buyer,
        "seller": seller_stall.seller.user,
        "steward": steward,
        "ops": ops,
        "seller_stall": seller_stall,
        "candidate_stall": candidate_stall,
        "report": report,
        "sanction": sanction,
        "held": held,
        "standing": standing,
        "voting": voting,
        "candidacy": candidacy,
    }


def _requests(w):
    move = {
        "stall": w["seller_stall"].public_id,
        "origin": "0,0,0",
        "target": "1,1,4,",
        "reason": "Tidy",
    }
    return {
        "sections": ("get", reverse("stewards:sections"), None),
        "stall_move": ("post", reverse("stewards:stall_move"), move),
        "queue": ("get", reverse("stewards:queue"), None),
        "queue_act": (
            "post",
            reverse("stewards:queue_act"),
            {"action": "report_dismiss", "pick": [f"report:{w['report'].public_id}"], "note": "Ok"},
        ),
        "held_photo": ("get", reverse("stewards:held_photo", args=[w["held"].public_id]), None),
        "report_form": (
            "get",
            reverse("stewards:report", args=["stall", w["seller_stall"].public_id]),
            None,
        ),
        "report": (
            "post",
            reverse("stewards:report", args=["stall", w["seller_stall"].public_id]),
            {"reason": "scam", "details": "x"},
        ),
        "my_reports": ("get", reverse("stewards:my_reports"), None),
        "my_sanctions": ("get", reverse("stewards:my_sanctions"), None),
        "appeal": (
            "post",
            reverse("stewards:appeal", args=[w["sanction"].public_id]),
            {"text": "Sorry"},
        ),
        "elections": ("get", reverse("stewards:elections"), None),
        "election": ("get", reverse("stewards:election", args=[w["voting"].public_id]), None),
        "stand": (
            "post",
            reverse("stewards:stand", args=[w["standing"].public_id]),
            {"statement": "Fair"},
        ),
        "vote": (
            "post",
            reverse("stewards:vote", args=[w["voting"].public_id]),
            {"candidate": w["candidacy"].public_id},
        ),
        "election_add": ("get", reverse("admin:stewards_election_add"), None),
        "steward_actions": ("get", reverse("admin:governance_stewardaction_changelist"), None),
        "steward_terms": ("get", reverse("admin:stewards_stewardterm_changelist"), None),
    }


# 302 for the anonymous: to a login page. 302 for others: done, sent back.
EXPECTED = {
    #                 anonymous buyer seller steward ops
    "sections": (302, 403, 403, 200, 200),
    "stall_move": (302, 403, 403, 302, 302),
    "queue": (302, 403, 403, 200, 200),
    "queue_act": (302, 403, 403, 302, 302),
    "held_photo": (302, 403, 403, 200, 200),  # not even its seller sees it
    "report_form": (302, 200, 200, 200, 200),
    "report": (302, 302, 400, 302, 302),  # nobody reports their own stall
    "my_reports": (302, 200, 200, 200, 200),
    "my_sanctions": (302, 200, 200, 200, 200),
    "appeal": (302, 302, 404, 404, 404),  # a sanction is its person's alone
    "elections": (200, 200, 200, 200, 200),
    "election": (200, 200, 200, 200, 200),
    "stand": (302, 403, 302, 403, 403),  # sellers in good standing only
    "vote": (302, 403, 302, 403, 403),  # sellers with a stall only
    "election_add": (302, 302, 302, 403, 200),  # ops call elections
    "steward_actions": (302, 302, 302, 403, 200),  # ops watch the stewards
    "steward_terms": (302, 302, 302, 403, 200),
}


@pytest.mark.django_db
@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("endpoint", list(EXPECTED))
def test_authorization_matrix_for_stewards(client, world, who, endpoint):
    method, url, data = _requests(world)[endpoint]
    if who != "anonymous":
        client.force_login(world[who])
    response = getattr(client, method)(url, data or {})
    assert response.status_code == EXPECTED[endpoint][PEOPLE.index(who)], response.content[:300]
    if who == "anonymous" and response.status_code == 302:
        assert "login" in response.url
    if response.status_code == 403:
        assert b"Only" in response.content or endpoint.startswith(("election_add", "steward_"))


@pytest.mark.django_db
def test_no_double_votes_over_http(client, world):
    client.force_login(world["seller"])
    url = reverse("stewards:vote", args=[world["voting"].public_id])
    assert client.post(url, {"candidate": world["candidacy"].public_id}).status_code == 302
    again = client.post(url, {"candidate": world["candidacy"].public_id})
    assert again.status_code == 409
    assert "already voted" in again.content.decode()
