import pytest
from hypothesis import given
from hypothesis import strategies as st

from bazaar.money import AmountError, format_money, parse_amount


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("25", 2500), ("$25.50", 2550), ("25,50", 2550), (" 7.5 ", 750), ("0.99", 99), ("€3", 300)],
)
def test_parse_amount_reads_what_people_type(typed, cents):
    assert parse_amount(typed, "USD") == cents


@pytest.mark.parametrize("typed", ["", "abc", "1,000", "25,5", "1.234", "-3", "1e3", "25.50.1"])
def test_parse_amount_refuses_what_is_not_a_price(typed):
    with pytest.raises(AmountError):
        parse_amount(typed, "USD")


def test_zero_decimal_currencies():
    assert parse_amount("500", "JPY") == 500
    with pytest.raises(AmountError, match="At most 0 decimal"):
        parse_amount("5.5", "JPY")
    assert format_money(500, "JPY") == "¥500"


def test_format_money():
    assert format_money(123456, "USD") == "$1,234.56"
    assert format_money(5, "EUR") == "€0.05"
    assert format_money(1000, "CHF") == "10.00 CHF"


@given(st.integers(min_value=0, max_value=10**9))
def test_formatting_then_parsing_gives_back_the_same_cents(cents):
    text = format_money(cents, "USD").replace(",", "")
    assert parse_amount(text, "USD") == cents
