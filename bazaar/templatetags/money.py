from django import template

from bazaar.money import format_money

register = template.Library()


@register.filter(name="money")
def money(cents: int, currency: str) -> str:
    return format_money(int(cents), currency)
