"""Reads for the dashboards: the ops view of the whole market and a seller's view of
their stall. Everything over a period reads the roll-ups (a handful of grouped
queries whatever the number of events)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db.models import Sum

from .models import VIEW_KINDS, ActivePeople, DailyKind, DailyStall, Kind, StallHour


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _series(period: Period, values: dict[date, int]) -> list[tuple[date, int]]:
    """One value per day of the period, zero where nothing happened."""
    return [(day, values.get(day, 0)) for day in period.days]


def _totals(rows) -> dict[str, dict[str, int]]:
    totals = {kind.value: {"events": 0, "visitors": 0, "amount": 0} for kind in Kind}
    for row in rows:
        totals[row["kind"]] = {name: row[name] or 0 for name in row if name != "kind"}
    return totals


def active_people(*, period: Period) -> dict:
    """DAU per day; WAU and MAU as of the period's last day; stickiness (DAU / MAU),
    all as the daily roll-up counted them (`ActivePeople`)."""
    rows = {
        row.day: row for row in ActivePeople.objects.filter(day__range=(period.start, period.end))
    }
    dau = _series(period, {day: row.dau for day, row in rows.items()})
    last = rows.get(period.end)
    mau = last.mau if last else 0
    average_dau = sum(people for _, people in dau) / len(dau)
    return {
        "dau": dau,
        "wau": last.wau if last else 0,
        "mau": mau,
        "stickiness": _rate(average_dau, mau),
    }


def market_totals(*, period: Period) -> dict:
    """The ratios ops watch, from one grouped read of the daily roll-up."""
    totals = _totals(
        DailyKind.objects.filter(day__range=(period.start, period.end))
        .values("kind")
        .annotate(
            events=Sum("events"),
            visitors=Sum("visitors"),
            amount=Sum("amount_cents"),
            fee=Sum("fee_cents"),
            duration=Sum("duration_seconds"),
        )
    )
    paid, shipped = totals[Kind.ORDER_PAID], totals[Kind.ORDER_SHIPPED]
    item_views = totals[Kind.ITEM_VIEWED]["events"]
    viewers = sum(totals[kind]["visitors"] for kind in (Kind.STALL_VIEWED, Kind.ITEM_VIEWED))
    funnel = [
        ("Looked", viewers),
        ("Added to cart", totals[Kind.CART_ADDED]["visitors"]),
        ("Checkout", totals[Kind.CHECKOUT_STARTED]["visitors"]),
        ("Paid", paid["visitors"]),
    ]
    return {
        "gmv_cents": paid["amount"],
        "orders": paid["events"],
        "fee_cents": paid.get("fee", 0),
        "take_rate": _rate(paid.get("fee", 0), paid["amount"]),
        "offers": totals[Kind.OFFER_MADE]["events"],
        "offer_to_view": _rate(totals[Kind.OFFER_MADE]["events"], item_views),
        "funnel": funnel,
        "conversion": _rate(paid["visitors"], viewers),
        "auctions_ended": totals[Kind.AUCTION_ENDED]["events"],
        "sell_through": _rate(
            totals[Kind.AUCTION_WON]["events"], totals[Kind.AUCTION_ENDED]["events"]
        ),
        "hours_to_ship": _rate(shipped.get("duration", 0) / 3600, shipped["events"]),
        "dispute_rate": _rate(totals[Kind.ORDER_DISPUTED]["events"], paid["events"]),
        "refunded_cents": totals[Kind.ORDER_REFUNDED]["amount"],
    }


def gmv_by_day(*, period: Period) -> list[tuple[date, int]]:
    rows = DailyKind.objects.filter(
        day__range=(period.start, period.end), kind=Kind.ORDER_PAID
    ).values_list("day", "amount_cents")
    return _series(period, dict(rows))


def gmv_by(*, period: Period, field: str, limit: int = 10) -> list[dict]:
    """GMV and orders per `stall_id` or `section_id`, largest first."""
    return list(
        DailyStall.objects.filter(day__range=(period.start, period.end), kind=Kind.ORDER_PAID)
        .exclude(**{f"{field}__isnull": True})
        .values(field)
        .annotate(gmv_cents=Sum("amount_cents"), orders=Sum("events"))
        .order_by("-gmv_cents", field)[:limit]
    )


def stall_by_day(*, stall_id: int, period: Period) -> dict[str, list[tuple[date, int]]]:
    """A stall's views (stall and item pages) and revenue, day by day."""
    rows = DailyStall.objects.filter(
        stall_id=stall_id, day__range=(period.start, period.end)
    ).values_list("day", "kind", "events", "amount_cents")
    views: dict[date, int] = {}
    revenue: dict[date, int] = {}
    for day, kind, events, amount in rows:
        if kind in VIEW_KINDS:
            views[day] = views.get(day, 0) + events
        elif kind == Kind.ORDER_PAID:
            revenue[day] = revenue.get(day, 0) + amount
    return {"views": _series(period, views), "revenue": _series(period, revenue)}


def stall_totals(*, stall_id: int, period: Period) -> dict:
    """A stall's period: views, visitors, offers, offer-to-view, conversion, revenue."""
    totals = _totals(
        DailyStall.objects.filter(stall_id=stall_id, day__range=(period.start, period.end))
        .values("kind")
        .annotate(events=Sum("events"), visitors=Sum("visitors"), amount=Sum("amount_cents"))
    )
    views = sum(totals[kind]["events"] for kind in (Kind.STALL_VIEWED, Kind.ITEM_VIEWED))
    visitors = totals[Kind.STALL_VIEWED]["visitors"]
    paid = totals[Kind.ORDER_PAID]
    return {
        "views": views,
        "visitors": visitors,
        "offers": totals[Kind.OFFER_MADE]["events"],
        "offer_to_view": _rate(
            totals[Kind.OFFER_MADE]["events"], totals[Kind.ITEM_VIEWED]["events"]
        ),
        "carts": totals[Kind.CART_ADDED]["events"],
        "orders": paid["events"],
        "conversion": _rate(paid["visitors"], visitors),
        "revenue_cents": paid["amount"],
        "chats": totals[Kind.CHAT_SENT]["events"],
    }


def stall_best_hours(*, stall_id: int, period: Period, zone: tzinfo) -> list[tuple[int, int]]:
    """Views of the stall by hour of day on the clocks of `zone` (the seller's or the
    market's), all 24 hours. The roll-up counts UTC hours; each day's are moved into the
    zone one by one, so summer time shifts the days it covers. (A zone half an hour off
    UTC files each hour under the local hour it starts in.)"""
    views = [0] * 24
    for day, hour, count in StallHour.objects.filter(
        stall_id=stall_id, day__range=(period.start, period.end)
    ).values_list("day", "hour", "views"):
        views[datetime.combine(day, time(hour), tzinfo=UTC).astimezone(zone).hour] += count
    return list(enumerate(views))
