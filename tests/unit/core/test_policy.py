"""Policy rules refuse with their name and their numbers."""

from decimal import Decimal

import pytest

from spendgate_core.domain.models import Change, ChangeField
from spendgate_core.domain.policy import (
    Limits,
    PolicyBook,
    PolicyValues,
    check_change,
    check_envelope,
    required_approvals,
)
from spendgate_core.errors import ConfigError, PolicyViolation

LIMITS = Limits.of(PolicyValues(), "USD")


def change(before: int, after: int) -> Change:
    return Change(entity_id="cmp_us_001", field=ChangeField.DAILY_BUDGET, before=before, after=after)


def test_max_change_pct_names_rule_and_numbers() -> None:
    with pytest.raises(PolicyViolation, match=r"max_change_pct: \+80% on cmp_us_001 exceeds 50%") as info:
        check_change(change(10_000, 18_000), limits=LIMITS)
    assert info.value.rule == "max_change_pct"
    check_change(change(10_000, 15_000), limits=LIMITS)  # exactly 50% is allowed
    with pytest.raises(PolicyViolation, match=r"-60%"):
        check_change(change(10_000, 4_000), limits=LIMITS)


def test_ceiling_and_positive_budget() -> None:
    with pytest.raises(PolicyViolation, match=r"max_daily_budget: 10000.01 USD .* exceeds 10000.00 USD"):
        check_change(change(900_000, 1_000_001), limits=LIMITS)
    with pytest.raises(PolicyViolation, match="min_daily_budget"):
        check_change(change(100, 0), limits=LIMITS)


def test_envelope_counts_increases_only() -> None:
    check_envelope(increase=0, used=10**9, limits=LIMITS)
    check_envelope(increase=50_000, used=150_000, limits=LIMITS)  # exactly at the cap
    with pytest.raises(
        PolicyViolation, match=r"envelope_24h: this draft adds 500.01 USD but only 500.00 USD"
    ):
        check_envelope(increase=50_001, used=150_000, limits=LIMITS)


def test_second_approver_strictly_above_threshold() -> None:
    assert required_approvals(increase=50_000, limits=LIMITS) == 1
    assert required_approvals(increase=50_001, limits=LIMITS) == 2


def test_per_account_overrides_and_zero_decimal_currency() -> None:
    book = PolicyBook.from_toml(
        '[defaults]\nenvelope_24h = "2000.00"\n[accounts."acc_jp_003"]\nenvelope_24h = "300000"\n', source="t"
    )
    assert book.for_account("acc_jp_003").envelope_24h == Decimal(300000)
    assert book.for_account("acc_us_001").envelope_24h == Decimal("2000.00")
    assert Limits.of(book.for_account("acc_jp_003"), "JPY").envelope_24h == 300000
    with pytest.raises(ConfigError, match="do not fit JPY"):
        Limits.of(PolicyValues(envelope_24h=Decimal("0.50")), "JPY")


@pytest.mark.parametrize(
    "text", ["[defaults]\nmax_change_pct = -1\n", "[defaults]\nunknown = 1\n", "not toml ["]
)
def test_malformed_policy_is_one_clear_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="policy file t is malformed"):
        PolicyBook.from_toml(text, source="t")
