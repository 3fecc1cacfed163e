from django import template

from bazaar.money import format_money

register = template.Library()


@register.filter(name="money")
def money(cents: int, currency: str) -> str:
    return format_money(int(cents), currency)


@register.filter(name="money_short")
def money_short(cents: int, currency: str) -> str:
    """`money` without a zero fraction: "from $4" on a stall card, "$4.50" kept."""
    text = format_money(int(cents), currency)
    return text.removesuffix(".00")
