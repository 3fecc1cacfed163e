"""The dashboards' pages read analytics' figures (by id) and name what they count:
sections by their coordinates, stalls by their names. A top-layer app, so it may
ask market, stalls, watchlist and the stall room."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from analytics.selectors import Period
from market.selectors import market_layout
from stalls.models import Stall
from stalls.room.visitors import room_count
from watchlist.models import Watch
from watchlist.selectors import stall_follow_state

LONGEST_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30


@dataclass(frozen=True)
class PeriodChoice:
    """The period a dashboard shows, or why the one asked for cannot be shown."""

    period: Period
    errors: dict[str, str]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def period_from(query) -> PeriodChoice:
    """`start` and `end` (YYYY-MM-DD) from a query string; the last 30 days (UTC) by
    default. A bad date or order is said beside its field; the default is shown."""
    today = timezone.now().date()
    default = Period(today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)
    start, end = _day(query.get("start")), _day(query.get("end"))
    errors = {}
    for name, parsed in (("start", start), ("end", end)):
        if query.get(name) and parsed is None:
            errors[name] = "Enter a date like 2026-11-30."
    start, end = start or default.start, end or default.end
    if not errors and start > end:
        errors["end"] = "The end must be on or after the start."
    elif not errors and (end - start).days >= LONGEST_PERIOD_DAYS:
        errors["start"] = f"Choose at most {LONGEST_PERIOD_DAYS} days."
    return PeriodChoice(default if errors else Period(start, end), errors)


def section_labels(section_ids) -> dict[int, str]:
    coordinates = market_layout().coordinates
    return {pk: "{}/{}".format(*coordinates[pk]) for pk in section_ids if pk in coordinates}


def stall_labels(stall_ids) -> dict[int, str]:
    return dict(Stall.objects.filter(pk__in=list(stall_ids)).values_list("pk", "name"))


def stall_now(*, stall: Stall) -> dict:
    """What is live about a stall: people in its room, who follows it, who saved its items."""
    here = room_count(stall_public_id=stall.public_id)
    return {
        "people": here.sockets,
        "signed_in": here.users,
        "followers": stall_follow_state(user=stall.seller.user, stall=stall).count,
        "watchers": Watch.objects.filter(item__stall=stall).values("user").distinct().count(),
    }
