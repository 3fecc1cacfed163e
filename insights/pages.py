"""What the dashboard pages show, assembled from analytics' selectors and labelled."""

from django.conf import settings
from django.utils import timezone

from analytics.charts import bar_chart
from analytics.selectors import (
    Period,
    active_people,
    gmv_by,
    gmv_by_day,
    market_totals,
    stall_best_hours,
    stall_by_day,
    stall_totals,
)
from bazaar.money import format_money
from stalls.models import Stall

from .selectors import section_labels, stall_labels, stall_now


def market_money(cents: float | None) -> str:
    """Cents in the market's currency: the dashboards add up one currency."""
    return format_money(int(cents or 0), settings.MARKET_CURRENCY)


def market_money_short(cents: float) -> str:
    """For an axis: "$200" rather than "$200.00"."""
    return market_money(cents).removesuffix(".00")


def _day_label(day) -> str:
    return day.strftime("%d %b")


def _tick_every(period: Period) -> int:
    return max(1, len(period.days) // 6)


def _labelled(rows: list[dict], field: str, labels: dict[int, str]) -> list[dict]:
    return [{**row, "label": labels.get(row[field], f"#{row[field]}")} for row in rows]


def ops_context(period: Period) -> dict:
    people = active_people(period=period)
    totals = market_totals(period=period)
    by_section = gmv_by(period=period, field="section_id")
    by_stall = gmv_by(period=period, field="stall_id")
    ticks = _tick_every(period)
    return {
        "period": period,
        "people": people,
        "totals": totals,
        "dau_chart": bar_chart(
            people["dau"], title="People active each day", label=_day_label, tick_every=ticks
        ),
        "gmv_chart": bar_chart(
            gmv_by_day(period=period),
            title="Gross merchandise value each day",
            label=_day_label,
            value=market_money,
            tick=market_money_short,
            tick_every=ticks,
        ),
        "funnel_chart": bar_chart(
            totals["funnel"],
            title="From looking at stalls and items to paying (people a day, summed)",
        ),
        "by_section": _labelled(
            by_section, "section_id", section_labels(r["section_id"] for r in by_section)
        ),
        "by_stall": _labelled(by_stall, "stall_id", stall_labels(r["stall_id"] for r in by_stall)),
    }


def ops_table(table: str, period: Period) -> list[list] | None:
    """The rows of one CSV export (a header first), or None for an unknown table."""
    if table == "daily":
        people = dict(active_people(period=period)["dau"])
        return [["day", "active_people", "gmv_cents"]] + [
            [day.isoformat(), people[day], gmv] for day, gmv in gmv_by_day(period=period)
        ]
    if table in ("sections", "stalls"):
        field = f"{table[:-1]}_id"
        rows = gmv_by(period=period, field=field, limit=10_000)
        labels = (section_labels if table == "sections" else stall_labels)(r[field] for r in rows)
        return [[field, "name", "gmv_cents", "orders"]] + [
            [row[field], labels.get(row[field], ""), row["gmv_cents"], row["orders"]]
            for row in rows
        ]
    if table == "summary":
        totals = market_totals(period=period)
        people = active_people(period=period)
        names = ["gmv_cents", "orders", "fee_cents", "take_rate", "offer_to_view", "conversion"]
        names += ["sell_through", "hours_to_ship", "dispute_rate", "refunded_cents"]
        return [
            ["metric", "value"],
            ["wau", people["wau"]],
            ["mau", people["mau"]],
            *([name, totals[name]] for name in names),
        ]
    return None


def stall_context(stall: Stall, period: Period) -> dict:
    """The seller's page; hours on the seller's clock (their account's zone, activated
    for the request, else the market's)."""
    by_day = stall_by_day(stall_id=stall.pk, period=period)
    zone = timezone.get_current_timezone()
    ticks = _tick_every(period)
    return {
        "stall": stall,
        "period": period,
        "now": stall_now(stall=stall),
        "totals": stall_totals(stall_id=stall.pk, period=period),
        "views_chart": bar_chart(
            by_day["views"],
            title="Views of your stall and items each day",
            label=_day_label,
            tick_every=ticks,
        ),
        "revenue_chart": bar_chart(
            by_day["revenue"],
            title="Your sales each day",
            label=_day_label,
            value=market_money,
            tick=market_money_short,
            tick_every=ticks,
        ),
        "hours_chart": bar_chart(
            stall_best_hours(stall_id=stall.pk, period=period, zone=zone),
            title=f"Views by hour of day ({zone} time)",
            label=lambda hour: f"{hour:02d}",
            tick_every=3,
        ),
    }
