"""Reports and appeals: what a person files, what a steward decides, who is told."""

from datetime import timedelta

import pytest
from django.urls import reverse

from bazaar.errors import Conflict, Invalid, NotAllowed
from governance.models import ChatSanction, Report, SanctionAppeal, StewardAction
from governance.reports import appeal_create, appeal_decide, report_create, report_decide
from governance.services import sanction_impose
from notifications.models import Kind, Notice
from stewards.targets import report_target


@pytest.fixture
def shopper(make_user):
    return make_user("shopper")


def _report(shopper, stall, reason="scam", details=""):
    target = report_target(kind="stall", public_id=stall.public_id)
    return report_create(reporter=shopper, target=target, reason=reason, details=details)


@pytest.mark.django_db
def test_a_report_is_filed_once_per_open_target(shopper, stall):
    first = _report(shopper, stall, details="Asks for payment outside the site")
    again = _report(shopper, stall, reason="spam")
    assert again.pk == first.pk
    assert first.target_owner == stall.seller.user
    assert first.target_url == reverse("stalls:detail", args=[stall.public_id])


@pytest.mark.django_db
def test_reports_refuse_your_own_things_and_unexplained_other(stall, shopper):
    with pytest.raises(Invalid, match="your own"):
        _report(stall.seller.user, stall)
    with pytest.raises(Invalid, match="needs a few words"):
        _report(shopper, stall, reason="other")
    with pytest.raises(Invalid, match="from the list"):
        _report(shopper, stall, reason="boring")


@pytest.mark.django_db
def test_resolving_audits_and_tells_the_reporter(shopper, stall, steward, on_commit):
    report = _report(shopper, stall)
    on_commit(report_decide, report=report, actor=steward, acted=True, outcome="Seller warned.")
    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED and report.resolved_by == steward
    record = StewardAction.objects.get(action=StewardAction.Action.REPORT_RESOLVE)
    assert record.actor == steward and record.reason == "Seller warned."
    notice = Notice.objects.get(recipient=shopper)
    assert notice.kind == Kind.REPORT_RESOLVED
    assert "was acted on" in notice.title and "Seller warned." in notice.body
    with pytest.raises(Conflict, match="already closed"):
        report_decide(report=report, actor=steward, acted=False, outcome="No.")
    with pytest.raises(NotAllowed):
        report_decide(report=_report(shopper, stall), actor=shopper, acted=False, outcome="x")


@pytest.fixture
def muted(shopper, stall, steward):
    return sanction_impose(
        user=shopper,
        kind=ChatSanction.Kind.MUTE,
        reason="Shouting",
        stall=stall,
        duration=timedelta(days=1),
        imposed_by=steward,
    )


@pytest.mark.django_db
def test_a_sanction_is_audited(muted):
    assert StewardAction.objects.filter(action=StewardAction.Action.SANCTION).count() == 1


@pytest.mark.django_db
def test_an_appeal_granted_by_another_steward_lifts_the_sanction(
    muted, shopper, steward, make_user, on_commit
):
    from governance.models import Role
    from governance.services import role_grant

    appeal = appeal_create(user=shopper, sanction=muted, text="I was excited, sorry.")
    assert appeal_create(user=shopper, sanction=muted, text="Again").pk == appeal.pk
    with pytest.raises(NotAllowed, match="Another steward"):
        appeal_decide(appeal=appeal, actor=steward, grant=True, answer="Fine")
    other = make_user("otherwarden")
    role_grant(user=other, role=Role.STEWARD)
    on_commit(appeal_decide, appeal=appeal, actor=other, grant=True, answer="Fair enough.")
    muted.refresh_from_db()
    assert muted.lifted_by == other
    assert SanctionAppeal.objects.get().status == SanctionAppeal.Status.GRANTED
    notice = Notice.objects.get(recipient=shopper, kind=Kind.APPEAL_DECIDED)
    assert "granted" in notice.title and "Fair enough." in notice.body
    actions = set(StewardAction.objects.values_list("action", flat=True))
    assert {"appeal_grant", "sanction_lift"} <= actions


@pytest.mark.django_db
def test_an_ended_sanction_cannot_be_appealed(muted, shopper, steward):
    from governance.services import sanction_lift

    sanction_lift(sanction=muted, lifted_by=steward)
    with pytest.raises(Conflict, match="nothing to appeal"):
        appeal_create(user=shopper, sanction=muted, text="Please")


# Pages


@pytest.mark.django_db
def test_reporting_a_stall_from_its_page(client, shopper, stall):
    client.force_login(shopper)
    page = client.get(reverse("stalls:detail", args=[stall.public_id])).content.decode()
    url = reverse("stewards:report", args=["stall", stall.public_id])
    assert url in page
    response = client.post(url, {"reason": "counterfeit", "details": "Fake brand"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("stewards:my_reports")
    assert "Counterfeit or replica" in response.content.decode()
    assert Report.objects.get().reason == "counterfeit"


@pytest.mark.django_db
def test_a_refused_report_is_said_in_place(client, shopper, stall):
    client.force_login(shopper)
    url = reverse("stewards:report", args=["stall", stall.public_id])
    response = client.post(url, {"reason": "other", "details": ""})
    assert response.status_code == 400
    assert "needs a few words" in response.content.decode()
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_a_report_of_nothing_is_404(client, shopper, stall):
    client.force_login(shopper)
    response = client.get(reverse("stewards:report", args=["spaceship", stall.public_id]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_appealing_from_the_sanctions_page(client, shopper, muted):
    client.force_login(shopper)
    page = client.get(reverse("stewards:my_sanctions")).content.decode()
    assert "Shouting" in page and "Send the appeal" in page
    url = reverse("stewards:appeal", args=[muted.public_id])
    empty = client.post(url, {"text": " "})
    assert empty.status_code == 400 and "Say why the sanction should be lifted" in (
        empty.content.decode()
    )
    response = client.post(url, {"text": "Sorry"}, follow=True)
    assert "Waiting for a steward" in response.content.decode()
