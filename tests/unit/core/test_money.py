"""Money parsing: exact minor units, the currency's exponent, never a float."""

from decimal import Decimal

import pytest

from spendgate_core.domain.money import format_money, to_major, to_minor
from spendgate_core.errors import InvalidInput


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("650.00", "USD", 65000),
        ("650", "USD", 65000),
        ("0.01", "EUR", 1),
        ("5000", "JPY", 5000),
        (Decimal("12.5"), "USD", 1250),
        (7, "JPY", 7),
        ("1.234", "KWD", 1234),
        ("-3.50", "USD", -350),
    ],
)
def test_parses_exact_minor_units(amount: object, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("12.345", "USD", "at most 2 decimal places"),
        ("100.5", "JPY", "no decimals"),
        ("NaN", "USD", "finite"),
        ("Infinity", "USD", "finite"),
        ("-inf", "EUR", "finite"),
        ("1e30", "USD", "larger than"),
        ("abc", "USD", "not a decimal"),
        ("", "USD", "not a decimal"),
        ("1.00", "XXX", "unsupported currency"),
    ],
)
def test_refuses_what_the_currency_cannot_hold(amount: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        to_minor(amount, currency)


@pytest.mark.parametrize("amount", [0.1, True, 1.0])
def test_refuses_floats_and_booleans(amount: object) -> None:
    with pytest.raises(InvalidInput, match="not floats"):
        to_minor(amount, "USD")  # type: ignore[arg-type]


def test_formats_with_the_currency_places() -> None:
    assert str(to_major(65000, "USD")) == "650.00"
    assert str(to_major(5000, "JPY")) == "5000"
    assert format_money(-1250, "EUR") == "-12.50 EUR"
