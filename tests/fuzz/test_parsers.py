"""Pure parsers of untrusted text, fuzzed directly: money amounts, draft ids, If-Match and Retry-After.

Each either answers exactly or refuses with the error its edge translates (InvalidInput → a tool error
or a 422; PreconditionFailed → 412); nothing else may escape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import httpx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spendgate_core.domain.ids import is_draft_id, new_draft_id
from spendgate_core.domain.money import CURRENCY_EXPONENTS, MAX_MAJOR_UNITS, to_minor
from spendgate_core.errors import InvalidInput, PreconditionFailed, PreconditionRequired
from spendgate_core.usecases.deciding import parse_if_match
from spendgate_executor.events.delivery import retry_after as _retry_after

from .conftest import FUZZ

PURE = settings(FUZZ, max_examples=300)  # no I/O: cheap enough for many more examples

amount_text = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"-?[0-9]{0,12}(\.[0-9]{0,40})?([eE][+-]?[0-9]{1,10})?", fullmatch=True),
    st.text(max_size=30),
)


@PURE
@given(amount=amount_text, currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
@example(amount="1e999999999", currency="USD")  # abs() overflowed the decimal context: decimal.Overflow
@example(amount="1e-999999999", currency="USD")  # scaleb() underflowed to 0: a positive amount became 0
@example(amount="1.000000000000000000000000000001", currency="USD")  # rounded to 28 digits: became 1.00
@example(amount="٣", currency="USD")
def test_to_minor_is_exact_or_refuses(amount: str, currency: str) -> None:
    try:
        minor = to_minor(amount, currency)
    except InvalidInput:
        return
    value = Fraction(Decimal(amount))
    assert abs(value) <= MAX_MAJOR_UNITS
    assert Fraction(minor) == value * 10 ** CURRENCY_EXPONENTS[currency], (amount, currency, minor)


fresh_ids = st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.just(UTC)).map(new_draft_id)


@PURE
@given(value=st.text(max_size=40) | fresh_ids | fresh_ids.map(lambda i: i + "\n"))
def test_is_draft_id_accepts_exactly_the_format(value: str) -> None:
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    expected = len(value) == 30 and value.startswith("drf_") and all(c in crockford for c in value[4:])
    assert is_draft_id(value) is expected, repr(value)  # "drf_…\n" passed with re.match and `$`


@PURE
@given(header=st.text(st.characters(codec="latin-1"), max_size=20))
@example(header="²")  # str.isdigit() but not int(): was a ValueError, a 500 on POST …/arm
@example(header='W/"³"')
def test_if_match_parses_or_refuses(header: str) -> None:
    try:
        version = parse_if_match(header)
    except (PreconditionRequired, PreconditionFailed):
        return
    assert 0 <= version < 10**12


@PURE
@given(value=st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=12))
@example(value="²")  # was float("²"): a ValueError that failed the event delivery job
def test_retry_after_of_a_subscriber_parses_or_is_ignored(value: str) -> None:
    seconds = _retry_after(httpx.Response(503, headers={"retry-after": value.encode("latin-1")}))
    assert seconds is None or seconds >= 0
