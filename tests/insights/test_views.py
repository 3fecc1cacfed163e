"""The ops dashboard and a seller's analytics: who may see them, what they count,
refusals in place, CSV exports."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.models import Event, Kind
from analytics.rollups import rollups_run
from governance.models import Role
from governance.services import role_grant


@pytest.fixture
def ops(make_user):
    user = make_user("opsperson")
    role_grant(user=user, role=Role.OPS)
    return user


def _noon(days_ago: int) -> datetime:
    today = timezone.now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


@pytest.fixture
def month(stall):
    """Two days of a stall's life, rolled up: yesterday 3 item views by 2 people, an
    offer, a cart and a $20 order (fee $1) that shipped 10 h later; today 1 view."""

    def add(kind, days_ago, visitor, **fields):
        when = _noon(days_ago)
        Event.objects.create(
            kind=kind,
            occurred_at=when,
            recorded_at=when,
            visitor=visitor,
            stall_id=stall.pk,
            section_id=stall.section_id,
            **fields,
        )

    for visitor in ("a", "a", "b"):
        add(Kind.ITEM_VIEWED, 1, visitor)
    add(Kind.STALL_VIEWED, 1, "a")
    add(Kind.OFFER_MADE, 1, "a", amount_cents=1500)
    add(Kind.CART_ADDED, 1, "b")
    add(Kind.ORDER_PAID, 1, "b", amount_cents=2000, fee_cents=100)
    add(Kind.ORDER_SHIPPED, 1, "b", duration_seconds=36000)
    add(Kind.AUCTION_ENDED, 1, "")
    add(Kind.ITEM_VIEWED, 0, "c")
    # Rolled up as of just after today's noon, even in the morning (UTC), when the run
    # would otherwise end before today's view.
    rollups_run(now=max(timezone.now(), _noon(0)) + timedelta(seconds=10))
    return stall


@pytest.mark.django_db
def test_the_ops_dashboard_is_for_staff_only(client, make_user):
    url = reverse("insights:ops")
    assert client.get(url).status_code == 302  # to the login
    client.force_login(make_user("shopper"))
    assert client.get(url).status_code == 404
    assert client.get(reverse("insights:ops_csv", args=["daily"])).status_code == 404


@pytest.mark.django_db
def test_the_ops_dashboard_counts_what_happened(client, ops, month):
    client.force_login(ops)
    response = client.get(reverse("insights:ops"))
    assert response.status_code == 200
    totals = response.context["totals"]
    assert totals["gmv_cents"] == 2000 and totals["orders"] == 1
    assert totals["take_rate"] == 0.05
    assert totals["offer_to_view"] == 1 / 4  # one offer, four item views
    assert totals["hours_to_ship"] == 10
    assert totals["sell_through"] == 0  # one auction ended unsold
    assert totals["dispute_rate"] == 0
    assert dict(totals["funnel"])["Paid"] == 1
    people = response.context["people"]
    assert people["mau"] == 3 and people["wau"] == 3  # a, b, c
    assert people["dau"][-2:] == [(_noon(1).date(), 2), (_noon(0).date(), 1)]
    assert response.context["by_stall"][0]["label"] == month.name
    assert response.context["by_section"][0]["label"] == "0/0"
    content = response.content.decode()
    assert "<svg" in content and "5.0%" in content and "$20.00" in content


@pytest.mark.django_db
def test_a_bad_range_is_refused_beside_its_field(client, ops):
    client.force_login(ops)
    response = client.get(reverse("insights:ops"), {"start": "2026-12-10", "end": "2026-12-01"})
    assert response.status_code == 400
    assert "The end must be on or after the start." in response.content.decode()
    response = client.get(reverse("insights:ops"), {"start": "yesterday"})
    assert response.status_code == 400
    assert "Enter a date like 2026-11-30." in response.content.decode()


@pytest.mark.django_db
def test_csv_exports(client, ops, month):
    client.force_login(ops)
    response = client.get(reverse("insights:ops_csv", args=["stalls"]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["stall_id", "name", "gmv_cents", "orders"],
        [str(month.pk), month.name, "2000", "1"],
    ]
    daily = list(
        csv.reader(
            io.StringIO(client.get(reverse("insights:ops_csv", args=["daily"])).content.decode())
        )
    )
    assert daily[0] == ["day", "active_people", "gmv_cents"] and len(daily) == 31
    assert daily[-2] == [_noon(1).date().isoformat(), "2", "2000"]
    assert client.get(reverse("insights:ops_csv", args=["nonsense"])).status_code == 404


@pytest.mark.django_db
def test_a_seller_sees_their_own_stall(client, month, make_user):
    client.force_login(month.seller.user)
    response = client.get(reverse("insights:stall"))
    totals = response.context["totals"]
    assert (totals["views"], totals["offers"], totals["orders"], totals["revenue_cents"]) == (
        5,
        1,
        1,
        2000,
    )
    assert totals["offer_to_view"] == 1 / 4
    hours = response.context["hours_chart"]["bars"]
    assert [bar.value for bar in hours if bar.value != "0"] == ["5"]
    assert hours[12].label == "12"  # every view at noon UTC
    assert response.context["now"]["people"] == 0
    now = client.get(reverse("insights:stall_now"))
    assert "0 people in your stall now" in now.content.decode()
    # Someone without a stall is sent to open one.
    client.force_login(make_user("nostall"))
    assert client.get(reverse("insights:stall")).status_code == 302
    assert client.get(reverse("insights:stall_now")).status_code == 404


@pytest.mark.django_db
def test_best_hours_are_on_the_sellers_clock_else_the_markets(client, stall, settings):
    """Views at 20:00 UTC yesterday: 05:00 today in Tokyo, 10:00 yesterday in Honolulu."""
    when = _noon(1).replace(hour=20)
    Event.objects.create(
        kind=Kind.STALL_VIEWED,
        occurred_at=when,
        recorded_at=when,
        visitor="a",
        stall_id=stall.pk,
        section_id=stall.section_id,
    )
    rollups_run(now=timezone.now() + timedelta(seconds=10))
    client.force_login(stall.seller.user)

    def busy_hours() -> list[str]:
        chart = client.get(reverse("insights:stall")).context["hours_chart"]
        return [chart["title"]] + [bar.label for bar in chart["bars"] if bar.value != "0"]

    settings.TIME_ZONE = "Asia/Tokyo"  # the market's clock, for a seller who set none
    assert busy_hours() == ["Views by hour of day (Asia/Tokyo time)", "05"]
    stall.seller.user.time_zone = "Pacific/Honolulu"
    stall.seller.user.save(update_fields=["time_zone"])
    assert busy_hours() == ["Views by hour of day (Pacific/Honolulu time)", "10"]
