"""The one queue: counts on the admin index, filters, bulk actions."""

import pytest
from django.urls import reverse

from governance.models import Report, StewardAction
from governance.reports import report_create
from stalls.models import ChatMessage
from stewards.targets import report_target


@pytest.fixture
def cases(stall, make_user, make_item):
    shoppers = [make_user(f"shopper{n}") for n in range(2)]
    item = make_item(stall)
    reports = [
        report_create(
            reporter=shopper,
            target=report_target(kind="item", public_id=item.public_id),
            reason="counterfeit",
            details="Fake",
        )
        for shopper in shoppers
    ]
    held = ChatMessage.objects.create(
        stall=stall, author=shoppers[0], text="buy my stuff elsewhere", status="held"
    )
    return {"reports": reports, "held": held}


@pytest.mark.django_db
def test_the_admin_index_counts_the_queue(client, steward, cases):
    client.force_login(steward)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Steward queue: 3 waiting" in page
    assert "Reports: 2" in page and "Held chat: 1" in page
    assert reverse("stewards:sections") in page


@pytest.mark.django_db
def test_the_queue_lists_and_filters(client, steward, cases):
    client.force_login(steward)
    page = client.get(reverse("stewards:queue")).content.decode()
    assert "buy my stuff elsewhere" in page and "Counterfeit or replica" in page
    only_chat = client.get(reverse("stewards:queue") + "?kind=chat").content.decode()
    assert "buy my stuff elsewhere" in only_chat and "Counterfeit" not in only_chat


@pytest.mark.django_db
def test_bulk_closing_reports_tells_each_reporter(client, steward, cases, on_commit):
    client.force_login(steward)
    picks = [f"report:{r.public_id}" for r in cases["reports"]]
    picks.append(f"chat:{cases['held'].public_id}")
    response = on_commit(
        client.post,
        reverse("stewards:queue_act"),
        {"action": "report_act", "pick": picks, "note": "Listing removed."},
        follow=True,
    )
    page = response.content.decode()
    assert "Done: 2 case(s)." in page and "Left 1 case(s) of another kind" in page
    assert set(Report.objects.values_list("status", flat=True)) == {"resolved"}
    assert StewardAction.objects.filter(action="report_resolve").count() == 2
    from notifications.models import Notice

    assert Notice.objects.filter(kind="report_resolved").count() == 2


@pytest.mark.django_db
def test_bulk_release_of_held_chat_is_audited(client, steward, cases):
    client.force_login(steward)
    client.post(
        reverse("stewards:queue_act"),
        {"action": "chat_release", "pick": [f"chat:{cases['held'].public_id}"], "note": ""},
    )
    cases["held"].refresh_from_db()
    assert cases["held"].status == "visible"
    assert StewardAction.objects.get().action == "chat_release"


@pytest.mark.django_db
def test_a_bulk_action_without_its_note_is_refused_in_place(client, steward, cases):
    client.force_login(steward)
    response = client.post(
        reverse("stewards:queue_act"),
        {"action": "report_dismiss", "pick": [f"report:{cases['reports'][0].public_id}"]},
    )
    assert response.status_code == 400
    assert "Write the note first" in response.content.decode()
    assert not StewardAction.objects.exists()
