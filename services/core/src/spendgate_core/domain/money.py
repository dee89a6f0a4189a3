"""Money: integer minor units plus an ISO 4217 currency; decimal strings only at the edges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from spendgate_core.errors import InvalidInput

# ISO 4217 minor-unit exponents for the currencies ad platforms bill in. Unknown currencies are refused
# rather than guessed: a wrong exponent is a 100x budget error.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "CHF": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "BRL": 2,
    "MXN": 2,
    "INR": 2,
    "SGD": 2,
    "HKD": 2,
    "CNY": 2,
    "ZAR": 2,
    "TRY": 2,
    "ILS": 2,
    "AED": 2,
    "TWD": 2,
    "THB": 2,
    "PHP": 2,
    "MYR": 2,
    "IDR": 2,
    "JPY": 0,
    "KRW": 0,
    "CLP": 0,
    "VND": 0,
    "ISK": 0,
    "PYG": 0,
    "UGX": 0,
    "KWD": 3,
    "BHD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
}

# No campaign budget is anywhere near this; it keeps arithmetic and JSON far from float/int limits.
MAX_MAJOR_UNITS = Decimal("1000000000")


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise InvalidInput(f"unsupported currency {currency!r}") from None


def to_minor(amount: Decimal | int | str, currency: str) -> int:
    """Parse a major-unit amount into minor units, refusing anything the currency cannot represent.

    Floats are refused by type: `0.1 + 0.2` is not money. Callers holding JSON numbers parse them as
    Decimal first (see `parse_major`).
    """
    if isinstance(amount, bool | float):
        raise InvalidInput("amounts must be decimal numbers, not floats or booleans")
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{amount!r} is not a decimal amount") from None
    if not value.is_finite():
        raise InvalidInput("amount must be a finite number")
    # copy_abs and as_tuple are exact; abs() and scaleb() round to the context (28 digits, exponents
    # within ±999999), so 1E+999999999 would raise Overflow and 1E-999999999 or 1.000…0001 would pass
    # as a round amount.
    if value.copy_abs() > MAX_MAJOR_UNITS:
        raise InvalidInput(f"amount {value} is larger than {MAX_MAJOR_UNITS} {currency}")
    exp = exponent(currency)
    _, digits, value_exp = value.as_tuple()
    finer = -int(value_exp) - exp  # how many of the digits lie below the currency's smallest unit
    if finer > 0 and any(digits[-finer:]):
        places = "no decimals" if exp == 0 else f"at most {exp} decimal place{'s' if exp > 1 else ''}"
        raise InvalidInput(f"{currency} amounts take {places}; got {value}")
    return int(value.scaleb(exp))  # exact now: at most 10 integer digits above the smallest unit


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units as a Decimal with exactly the currency's number of places (650.00, 5000)."""
    exp = exponent(currency)
    return Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp))


def format_money(minor: int, currency: str) -> str:
    """Human text: `650.00 USD`, `5000 JPY`, `-12.50 EUR`."""
    return f"{to_major(minor, currency)} {currency}"
