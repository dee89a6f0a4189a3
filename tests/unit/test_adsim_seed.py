"""adsim's seed data is deterministic, realistic in shape, and stable per date across day rollovers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from spendgate_adsim.seed import (
    ACCOUNTS,
    INSIGHT_DAYS,
    seed_campaigns,
    seed_performance,
    sum_metrics,
)

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def test_same_seed_gives_the_same_data() -> None:
    first = seed_campaigns(seed=3, now=NOW)
    second = seed_campaigns(seed=3, now=NOW)
    assert first == second
    today = NOW.date()
    assert seed_performance(seed=3, campaigns=first, today=today) == seed_performance(
        seed=3, campaigns=second, today=today
    )


def test_different_seeds_give_different_budgets() -> None:
    budgets = [[c.daily_budget for c in seed_campaigns(seed=seed, now=NOW)] for seed in (0, 1, 2)]
    assert budgets[0] != budgets[1] != budgets[2] != budgets[0]


def test_three_accounts_with_stable_ids_and_a_zero_decimal_currency() -> None:
    assert [(a.id, a.currency, a.timezone) for a in ACCOUNTS] == [
        ("acc_us_001", "USD", "America/New_York"),
        ("acc_eu_002", "EUR", "Europe/Berlin"),
        ("acc_jp_003", "JPY", "Asia/Tokyo"),
    ]


def test_every_account_has_dozens_of_varied_campaigns() -> None:
    campaigns = seed_campaigns(seed=0, now=NOW)
    bounds = {"USD": (2_000, 300_000), "EUR": (2_000, 300_000), "JPY": (3_000, 400_000)}
    for account in ACCOUNTS:
        mine = [c for c in campaigns if c.account_id == account.id]
        assert len(mine) >= 30
        assert [c.id for c in mine] == sorted(c.id for c in mine)
        assert all(re.fullmatch(rf"cmp_{account.suffix}_\d{{3}}", c.id) for c in mine)
        low, high = bounds[account.currency]
        assert all(low <= c.daily_budget <= high for c in mine)
        assert len({c.daily_budget for c in mine}) > len(mine) // 2
        paused = [c for c in mine if c.status == "PAUSED"]
        assert 0.1 <= len(paused) / len(mine) <= 0.3
        assert all(600 <= c.pacing_milli <= 1150 for c in mine)
        assert all(c.updated_at.tzinfo is not None and c.updated_at < NOW for c in mine)
        assert len({c.name for c in mine}) > len(mine) // 2


def test_ninety_days_of_performance_ending_yesterday() -> None:
    campaigns = seed_campaigns(seed=0, now=NOW)
    performance = seed_performance(seed=0, campaigns=campaigns, today=NOW.date())
    assert performance.first_day == NOW.date() - timedelta(days=INSIGHT_DAYS)
    assert INSIGHT_DAYS == 90
    for account in ACCOUNTS:
        days = performance.by_account[account.id]
        assert len(days) == 90
        assert sum(day.spend for day in days) > 0
        mine = [performance.by_campaign[c.id] for c in campaigns if c.account_id == account.id]
        for i, day in enumerate(days):
            assert day == sum_metrics([rows[i] for rows in mine])
    for rows in performance.by_campaign.values():
        assert len(rows) == 90
        assert all(r.clicks <= r.impressions and min(r) >= 0 for r in rows)


def test_a_date_keeps_its_numbers_when_the_day_rolls_over() -> None:
    campaigns = seed_campaigns(seed=5, now=NOW)
    today = seed_performance(seed=5, campaigns=campaigns, today=NOW.date())
    tomorrow = seed_performance(seed=5, campaigns=campaigns, today=NOW.date() + timedelta(days=1))
    for campaign_id, rows in today.by_campaign.items():
        assert rows[1:] == tomorrow.by_campaign[campaign_id][:-1]
