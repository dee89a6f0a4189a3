"""Deterministic sandbox data for a seed: accounts, campaigns and 90 days of daily performance."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

INSIGHT_DAYS = 90
CAMPAIGNS_PER_ACCOUNT = 36
PAUSED_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    currency: str
    timezone: str
    suffix: str  # the "us" in acc_us_001 and cmp_us_007
    minor_per_cent: float  # how many minor units of this currency one US cent is worth, roughly

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "timezone": self.timezone,
            "status": "ACTIVE",
        }


# The same three accounts for every seed, so clients and fixtures can name them.
ACCOUNTS: tuple[Account, ...] = (
    Account("acc_us_001", "Northwind Outfitters US", "USD", "America/New_York", "us", 1.0),
    Account("acc_eu_002", "Northwind Outfitters EU", "EUR", "Europe/Berlin", "eu", 1.0),
    Account("acc_jp_003", "Northwind Outfitters Japan", "JPY", "Asia/Tokyo", "jp", 1.5),
)

# Budget bounds and rounding step in minor units, per currency.
_BUDGETS: dict[str, tuple[int, int, int]] = {
    "USD": (2_000, 300_000, 500),
    "EUR": (2_000, 300_000, 500),
    "JPY": (3_000, 400_000, 500),
}
_MARKETS = {
    "us": ("US", "US-East", "US-West", "CA"),
    "eu": ("DE", "FR", "NL", "ES"),
    "jp": ("JP", "JP-Kanto"),
}
_FUNNELS = ("Brand", "Generic", "Competitor", "Prospecting", "Retargeting", "Lookalike")
_CHANNELS = ("Search", "Shopping", "Display", "Video", "PMax", "Social")
_THEMES = ("Hiking Boots", "Rain Jackets", "Tents", "Backpacks", "Trail Running", "Camp Kitchen", "Sale")


class Metrics(NamedTuple):
    """One day's (or a range's) performance; money in minor units."""

    impressions: int
    clicks: int
    spend: int
    conversions: int
    conversion_value: int


ZERO = Metrics(0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class CampaignSeed:
    """A campaign as the seed creates it, with the hidden traits that drive its performance."""

    id: str
    account_id: str
    name: str
    status: str
    daily_budget: int
    pacing_milli: int  # 600..1150: how much of its budget the campaign spends per day
    updated_at: datetime
    started_on: date
    paused_on: date | None
    cpm: int  # cost per thousand impressions, minor units
    ctr_bp: int  # click-through rate, basis points
    cvr_bp: int  # conversion rate, basis points
    order_value: int  # average conversion value, minor units


@dataclass(frozen=True, slots=True)
class Performance:
    """Daily metrics for `INSIGHT_DAYS` days from `first_day`; index 0 is `first_day`."""

    first_day: date
    by_campaign: dict[str, list[Metrics]]
    by_account: dict[str, list[Metrics]]


def seed_campaigns(*, seed: int, now: datetime) -> list[CampaignSeed]:
    """Every account's campaigns for `seed`; the UTC day of `now` anchors updated_at, launch and pause."""
    today = now.date()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    campaigns: list[CampaignSeed] = []
    for account in ACCOUNTS:
        rng = random.Random(f"adsim:{seed}:{account.id}")
        paused = set(rng.sample(range(CAMPAIGNS_PER_ACCOUNT), round(CAMPAIGNS_PER_ACCOUNT * PAUSED_SHARE)))
        low, high, step = _BUDGETS[account.currency]
        for n in range(CAMPAIGNS_PER_ACCOUNT):
            # Log-uniform budgets: many small campaigns, a few large ones, on round amounts.
            budget = round(low * (high / low) ** rng.random() / step) * step
            is_paused = n in paused
            campaigns.append(
                CampaignSeed(
                    id=f"cmp_{account.suffix}_{n + 1:03d}",
                    account_id=account.id,
                    name=_campaign_name(rng, account),
                    status="PAUSED" if is_paused else "ENABLED",
                    daily_budget=min(high, max(low, budget)),
                    pacing_milli=rng.randint(600, 1150),
                    updated_at=midnight - timedelta(seconds=rng.randint(3_600, 30 * 86_400)),
                    started_on=today - timedelta(days=rng.choice((400, 365, 200, 120, 75, 40, 20))),
                    paused_on=today - timedelta(days=rng.randint(1, 60)) if is_paused else None,
                    cpm=round(rng.randint(400, 2_500) * account.minor_per_cent),
                    ctr_bp=rng.randint(40, 400),
                    cvr_bp=rng.randint(100, 800),
                    order_value=round(rng.randint(2_500, 18_000) * account.minor_per_cent),
                )
            )
    return campaigns


def _campaign_name(rng: random.Random, account: Account) -> str:
    market = rng.choice(_MARKETS[account.suffix])
    return f"{market} | {rng.choice(_FUNNELS)} | {rng.choice(_CHANNELS)} | {rng.choice(_THEMES)}"


def seed_performance(*, seed: int, campaigns: list[CampaignSeed], today: date) -> Performance:
    """The `INSIGHT_DAYS` days ending yesterday; each campaign-day has its own RNG, so it never shifts."""
    first_day = today - timedelta(days=INSIGHT_DAYS)
    days = [first_day + timedelta(days=i) for i in range(INSIGHT_DAYS)]
    by_campaign = {c.id: [_day(seed, c, day) for day in days] for c in campaigns}
    by_account: dict[str, list[Metrics]] = {}
    for account in ACCOUNTS:
        rows = [by_campaign[c.id] for c in campaigns if c.account_id == account.id]
        by_account[account.id] = [sum_metrics(day_rows) for day_rows in zip(*rows, strict=True)]
    return Performance(first_day=first_day, by_campaign=by_campaign, by_account=by_account)


def _day(seed: int, campaign: CampaignSeed, day: date) -> Metrics:
    if day < campaign.started_on or (campaign.paused_on is not None and day >= campaign.paused_on):
        return ZERO
    rng = random.Random(f"adsim:{seed}:{campaign.id}:{day.isoformat()}")
    weekday = 0.9 if day.weekday() >= 5 else 1.0
    spend = int(campaign.daily_budget * campaign.pacing_milli / 1000 * weekday * rng.uniform(0.85, 1.08))
    impressions = spend * 1000 // max(1, int(campaign.cpm * rng.uniform(0.9, 1.1)))
    clicks = int(impressions * campaign.ctr_bp / 10_000 * rng.uniform(0.85, 1.15))
    conversions = int(clicks * campaign.cvr_bp / 10_000 * rng.uniform(0.7, 1.3) + rng.random())
    value = int(conversions * campaign.order_value * rng.uniform(0.8, 1.2))
    return Metrics(impressions, clicks, spend, conversions, value)


def sum_metrics(rows: list[Metrics] | tuple[Metrics, ...]) -> Metrics:
    """Field-wise sum of metrics rows."""
    return Metrics(*(sum(column) for column in zip(*rows, strict=True))) if rows else ZERO
