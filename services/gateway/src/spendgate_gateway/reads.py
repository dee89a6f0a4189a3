"""Read views the gateway computes from the platform: snapshot, campaign queries, performance.

Arithmetic is in integer minor units and Decimal; results leave as decimal strings in major units.
The platform's day is the UTC day (adsim spends by it), so "today" and pacing use UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from spendgate_core.adapters.store import AsyncDraftStore
from spendgate_core.domain.money import exponent, to_major, to_minor
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow
from spendgate_core.errors import InvalidInput, NotFound
from spendgate_core.usecases.deps import CoreDeps
from spendgate_gateway.cache import CachedReader
from spendgate_gateway.schemas import (
    AccountOut,
    AccountSnapshot,
    CampaignField,
    CampaignRow,
    EntityFilter,
    EntityPage,
    Envelope,
    Performance,
    PerformanceRowOut,
)

MAX_RANGE_DAYS = 366
_DAY_SECONDS = Decimal(86_400)
_RATIO = Decimal("0.01")
_CTR = Decimal("0.0001")
_TEXT_FIELDS = frozenset({"id", "name", "status"})


def money(minor: int, currency: str) -> str:
    return str(to_major(minor, currency))


def account_out(account: Account) -> AccountOut:
    return AccountOut.model_validate(account.model_dump())


def day_fraction(now: datetime) -> Decimal:
    """Share of the UTC day elapsed at `now`, in [0, 1)."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Decimal((now - midnight).total_seconds()) / _DAY_SECONDS


def pacing(campaign: Campaign, *, fraction: Decimal) -> Decimal | None:
    """spend_today / (daily_budget x fraction of the day elapsed), to two places; None when meaningless."""
    if campaign.status.value != "ENABLED" or campaign.daily_budget <= 0 or fraction <= 0:
        return None
    expected = Decimal(campaign.daily_budget) * fraction
    return (Decimal(campaign.spend_today) / expected).quantize(_RATIO, rounding=ROUND_HALF_EVEN)


def campaign_row(campaign: Campaign, *, currency: str, fraction: Decimal) -> CampaignRow:
    pace = pacing(campaign, fraction=fraction)
    return CampaignRow(
        id=campaign.id,
        name=campaign.name,
        status=campaign.status.value,
        daily_budget=money(campaign.daily_budget, currency),
        spend_today=money(campaign.spend_today, currency),
        pacing=None if pace is None else str(pace),
    )


class CampaignRows:
    """Snapshot rows of each account, computed once per platform read rather than once per call.

    The memo is keyed by the identity of the campaign list the cached reader returned: while the cache
    serves that list, its rows are reused; a new list is a new platform read, so its rows are new too.
    Pacing is computed as of when the rows are built, which is also about when the spend was read.
    Used on the event loop only.
    """

    def __init__(self) -> None:
        self._memo: dict[str, tuple[list[Campaign], list[CampaignRow]]] = {}

    def of(self, account: Account, campaigns: list[Campaign], *, now: datetime) -> list[CampaignRow]:
        memo = self._memo.get(account.id)
        if memo is not None and memo[0] is campaigns:
            return memo[1]
        fraction = day_fraction(now)
        rows = [campaign_row(c, currency=account.currency, fraction=fraction) for c in campaigns]
        self._memo[account.id] = (campaigns, rows)
        return rows


async def snapshot(
    *, deps: CoreDeps, reader: CachedReader, store: AsyncDraftStore, rows: CampaignRows, account: Account
) -> AccountSnapshot:
    now = deps.clock.now()
    currency = account.currency
    campaigns = await reader.list_campaigns(account.id)
    spend_today = sum(c.spend_today for c in campaigns)
    today = now.date()
    first = today.replace(day=1)
    earlier = 0
    if first < today:  # the platform reports whole days up to yesterday
        totals = await reader.insights(
            account.id, campaign_id=None, since=first, until=today - timedelta(days=1), granularity="total"
        )
        earlier = sum(r.spend for r in totals)
    limits = deps.limits(account.id, currency)
    used, pending = await store.account_counters(account.id, now=now)
    return AccountSnapshot(
        account=account_out(account),
        as_of=now.isoformat(),
        currency=currency,
        spend_today=money(spend_today, currency),
        spend_month_to_date=money(earlier + spend_today, currency),
        campaigns=rows.of(account, campaigns, now=now),
        envelope=Envelope(
            limit_24h=money(limits.envelope_24h, currency),
            used=money(used, currency),
            left=money(max(0, limits.envelope_24h - used), currency),
        ),
        pending_drafts=pending,
        max_pending_drafts=limits.max_pending_drafts,
    )


# query_entities -----------------------------------------------------------------------------------------
_Value = str | int | Decimal | None
_OPS: dict[str, Callable[[_Value, _Value], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,  # type: ignore[operator]
    "gte": lambda a, b: a >= b,  # type: ignore[operator]
    "lt": lambda a, b: a < b,  # type: ignore[operator]
    "lte": lambda a, b: a <= b,  # type: ignore[operator]
}


def _field_value(campaign: Campaign, field: CampaignField, fraction: Decimal) -> _Value:
    if field == "status":
        return campaign.status.value
    if field == "pacing":
        return pacing(campaign, fraction=fraction)
    value: str | int = getattr(campaign, field)
    return value


def _filter_operand(f: EntityFilter, currency: str) -> _Value:
    """The filter's value in the field's own terms: text, minor units, or a pacing ratio."""
    if f.field in _TEXT_FIELDS:
        if not isinstance(f.value, str):
            raise InvalidInput(f'filter on {f.field} needs a string value, e.g. "ENABLED" or "Brand"')
        return f.value
    if f.op == "contains":
        raise InvalidInput(f"contains works on id, name and status only, not on {f.field}")
    if f.field == "pacing":
        try:
            ratio = Decimal(f.value)
        except ArithmeticError:
            ratio = Decimal("NaN")
        if not ratio.is_finite():
            raise InvalidInput(f"pacing filter value {f.value!r} is not a number such as 0.8")
        return ratio
    return to_minor(f.value, currency)


def _matches(campaign: Campaign, f: EntityFilter, operand: _Value, fraction: Decimal) -> bool:
    actual = _field_value(campaign, f.field, fraction)
    if actual is None:
        return False  # a paused campaign has no pacing; it matches no pacing filter
    if f.op == "contains":
        return str(operand).casefold() in str(actual).casefold()
    return _OPS[f.op](actual, operand)


async def query_campaigns(
    *,
    deps: CoreDeps,
    reader: CachedReader,
    account: Account,
    filters: Sequence[EntityFilter],
    sort_by: CampaignField,
    descending: bool,
    limit: int,
) -> EntityPage:
    currency = account.currency
    operands = [_filter_operand(f, currency) for f in filters]
    fraction = day_fraction(deps.clock.now())
    found = [
        c
        for c in await reader.list_campaigns(account.id)
        if all(_matches(c, f, o, fraction) for f, o in zip(filters, operands, strict=True))
    ]
    # Campaigns without a value for the sort field (paused ones, for pacing) go last either way.
    present = [c for c in found if _field_value(c, sort_by, fraction) is not None]
    absent = [c for c in found if _field_value(c, sort_by, fraction) is None]
    present.sort(key=lambda c: _field_value(c, sort_by, fraction), reverse=descending)  # type: ignore[arg-type,return-value]
    ordered = present + absent
    return EntityPage(
        account_id=account.id,
        entity_type="campaign",
        currency=currency,
        total_matches=len(ordered),
        entities=[campaign_row(c, currency=currency, fraction=fraction) for c in ordered[:limit]],
    )


# get_performance ----------------------------------------------------------------------------------------
def _ratio(numerator: int, denominator: int, places: Decimal) -> str | None:
    if denominator == 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_EVEN))


def _unit_cost(spend: int, count: int, currency: str) -> str | None:
    """spend / count in major units, rounded to the currency's smallest unit."""
    if count == 0:
        return None
    step = Decimal(1).scaleb(-exponent(currency))
    value = (Decimal(spend) / Decimal(count)).scaleb(-exponent(currency))
    return str(value.quantize(step, rounding=ROUND_HALF_EVEN))


def performance_row(row: PerformanceRow, currency: str) -> PerformanceRowOut:
    return PerformanceRowOut(
        date=row.date,
        impressions=row.impressions,
        clicks=row.clicks,
        spend=money(row.spend, currency),
        conversions=row.conversions,
        conversion_value=money(row.conversion_value, currency),
        ctr=_ratio(row.clicks, row.impressions, _CTR),
        cpc=_unit_cost(row.spend, row.clicks, currency),
        cpa=_unit_cost(row.spend, row.conversions, currency),
        roas=_ratio(row.conversion_value, row.spend, _RATIO),
    )


async def performance(
    *,
    reader: CachedReader,
    account: Account,
    entity_id: str | None,
    start_date: date,
    end_date: date,
    granularity: Granularity,
) -> Performance:
    if start_date > end_date:
        raise InvalidInput(f"start_date {start_date} is after end_date {end_date}")
    if (end_date - start_date).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"the range covers more than {MAX_RANGE_DAYS} days; ask for a shorter one")
    try:
        rows = await reader.insights(
            account.id, campaign_id=entity_id, since=start_date, until=end_date, granularity=granularity
        )
    except NotFound:
        # The account is known to be visible, so the platform's 404 is about the campaign.
        raise NotFound(
            f"unknown campaign {entity_id!r} in account {account.id}; use query_entities to find campaign ids"
        ) from None
    return Performance(
        account_id=account.id,
        entity_id=entity_id,
        currency=account.currency,
        start_date=start_date,
        end_date=end_date,
        granularity=granularity,
        rows=[performance_row(r, account.currency) for r in rows],
    )
