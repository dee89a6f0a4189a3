"""Gateway read arithmetic: pacing, ratios and unit costs in Decimal, money out as major-unit strings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from spendgate_core.domain.models import CampaignStatus
from spendgate_core.domain.platform import Campaign, PerformanceRow
from spendgate_core.errors import InvalidInput
from spendgate_gateway.reads import _filter_operand, day_fraction, pacing, performance_row
from spendgate_gateway.schemas import EntityFilter


def campaign(
    *, budget: int = 10_000, spent: int = 2_500, status: CampaignStatus = CampaignStatus.ENABLED
) -> Campaign:
    return Campaign(
        id="c", account_id="a", name="n", status=status, daily_budget=budget, spend_today=spent, etag='"1"'
    )


def test_day_fraction_is_the_share_of_the_utc_day() -> None:
    assert day_fraction(datetime(2025, 5, 1, 0, 0, tzinfo=UTC)) == 0
    assert day_fraction(datetime(2025, 5, 1, 6, 0, tzinfo=UTC)) == Decimal("0.25")
    assert day_fraction(datetime(2025, 5, 1, 18, 0, tzinfo=UTC)) == Decimal("0.75")


def test_pacing() -> None:
    quarter = Decimal("0.25")
    assert pacing(campaign(budget=10_000, spent=2_500), fraction=quarter) == Decimal("1.00")
    assert pacing(campaign(budget=10_000, spent=2_000), fraction=quarter) == Decimal("0.80")
    assert pacing(campaign(budget=30_000, spent=10_000), fraction=quarter) == Decimal("1.33")
    assert pacing(campaign(status=CampaignStatus.PAUSED), fraction=quarter) is None
    assert pacing(campaign(), fraction=Decimal(0)) is None
    assert pacing(campaign(budget=0, spent=0), fraction=quarter) is None


def test_performance_row_metrics() -> None:
    row = PerformanceRow(
        date=date(2025, 5, 1),
        campaign_id=None,
        impressions=120_000,
        clicks=1_500,
        spend=75_000,
        conversions=40,
        conversion_value=300_000,
    )
    out = performance_row(row, "USD")
    assert (out.spend, out.conversion_value) == ("750.00", "3000.00")
    assert (out.ctr, out.cpc, out.cpa, out.roas) == ("0.0125", "0.50", "18.75", "4.00")
    yen = performance_row(row.model_copy(update={"spend": 100_001, "conversions": 3}), "JPY")
    assert (yen.spend, yen.cpc, yen.cpa) == ("100001", "67", "33334")


def test_performance_row_with_zero_denominators() -> None:
    row = PerformanceRow(
        date=None, campaign_id="c", impressions=0, clicks=0, spend=0, conversions=0, conversion_value=0
    )
    out = performance_row(row, "EUR")
    assert (out.ctr, out.cpc, out.cpa, out.roas) == (None, None, None, None)
    assert out.spend == "0.00"


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("daily_budget", "gte", "650.00", 65_000),
        ("daily_budget", "gte", Decimal("650"), 65_000),
        ("spend_today", "lt", "0.5", 50),
        ("pacing", "gt", "0.8", Decimal("0.8")),
        ("name", "contains", "Brand", "Brand"),
    ],
)
def test_filter_operands(field: str, op: str, value: object, expected: object) -> None:
    f = EntityFilter.model_validate({"field": field, "op": op, "value": value})
    assert _filter_operand(f, "USD") == expected


@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        ("daily_budget", "gte", "1.234", "at most 2 decimal places"),
        ("daily_budget", "contains", "1", "contains works on id, name and status only"),
        ("status", "eq", Decimal(1), "needs a string value"),
        ("pacing", "gt", "NaN", "not a number"),
        ("pacing", "gt", "soon", "not a number"),
    ],
)
def test_bad_filter_operands(field: str, op: str, value: object, message: str) -> None:
    f = EntityFilter.model_validate({"field": field, "op": op, "value": value})
    with pytest.raises(InvalidInput, match=message):
        _filter_operand(f, "USD")


def test_campaign_rows_are_computed_once_per_platform_read() -> None:
    from spendgate_core.domain.platform import Account
    from spendgate_gateway.reads import CampaignRows

    account = Account(id="a", name="A", platform="fake", currency="JPY", timezone="UTC", status="ACTIVE")
    rows = CampaignRows()
    noon = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    first_read = [campaign(budget=10_000, spent=2_500)]
    shown = rows.of(account, first_read, now=noon)
    assert [(r.daily_budget, r.spend_today, r.pacing) for r in shown] == [("10000", "2500", "0.50")]
    assert rows.of(account, first_read, now=datetime(2025, 5, 1, 18, 0, tzinfo=UTC)) is shown  # same read
    second_read = [campaign(budget=10_000, spent=5_000)]
    assert [r.pacing for r in rows.of(account, second_read, now=noon)] == ["1.00"]
