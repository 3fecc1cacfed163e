"""Money is an integer count of minor units plus a currency code; never a float."""

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies we format; default is 2.
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "BHD": 3, "KWD": 3}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

_AMOUNT = re.compile(r"^\s*[$€£¥]?\s*(\d{1,9})(?:([.,])(\d+))?\s*$")


class AmountError(ValueError):
    """An amount a person typed that is not a valid price."""


def exponent(currency: str) -> int:
    return CURRENCY_EXPONENTS.get(currency.upper(), 2)


def format_money(cents: int, currency: str) -> str:
    """`1250, "USD"` -> `$12.50`; unknown currencies show their code."""
    places = exponent(currency)
    value = Decimal(cents).scaleb(-places)
    text = f"{value:,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def parse_amount(text: str, currency: str) -> int:
    """Parse what a person typed (`25`, `$25.50`, `25,50`) into minor units.

    A comma is a decimal separator only when exactly two digits follow it, so
    `1,000` is refused rather than read as one dollar.
    """
    match = _AMOUNT.match(text or "")
    if not match:
        raise AmountError("Enter an amount such as 25 or 25.50.")
    whole, separator, fraction = match.groups()
    places = exponent(currency)
    if separator == "," and len(fraction) != 2:
        raise AmountError("Use a dot for decimals, for example 25.50.")
    if fraction is not None and len(fraction) > places:
        raise AmountError(f"At most {places} decimal places in {currency.upper()}.")
    try:
        value = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise AmountError("Enter an amount such as 25 or 25.50.") from exc
    return int(value.scaleb(places))
