from django import template

from ..pages import market_money
from ..selectors import stall_now

register = template.Library()
register.filter("market_money", market_money)


@register.filter
def percent(rate: float | None) -> str:
    """0.1234 -> "12.3%"; no rate (nothing to divide by) -> "–"."""
    return "–" if rate is None else f"{rate * 100:.1f}%"


@register.inclusion_tag("insights/_dashboard_line.html")
def seller_pulse_line(stall) -> dict:
    """The stall dashboard's line: who is in the stall now, and the analytics link."""
    return {"now": stall_now(stall=stall)}
