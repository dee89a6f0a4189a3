"""The in-memory platform: campaigns, the writes log, idempotency records and insights, behind one lock."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from spendgate_adsim.errors import IdempotencyKeyReused, InvalidRequest, NotFound, PreconditionFailed
from spendgate_adsim.seed import (
    ACCOUNTS,
    INSIGHT_DAYS,
    CampaignSeed,
    Metrics,
    Performance,
    seed_campaigns,
    seed_performance,
    sum_metrics,
)

Clock = Callable[[], datetime]
Json = dict[str, Any]
Source = Literal["api", "oob"]

MAX_INSIGHT_RANGE_DAYS = 366
# Real platforms forget idempotency keys after a day or so; a bound keeps benchmarks from growing memory.
MAX_IDEMPOTENCY_RECORDS = 100_000
_DAY_US = 86_400 * 1_000_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Campaign:
    id: str
    account_id: str
    name: str
    status: str
    daily_budget: int
    pacing_milli: int
    version: int
    updated_at: datetime

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def to_json(self, now: datetime) -> Json:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "name": self.name,
            "status": self.status,
            "daily_budget": self.daily_budget,
            "spend_today": self.spend_today(now),
            "etag": self.etag,
            "updated_at": iso(self.updated_at),
        }

    def spend_today(self, now: datetime) -> int:
        """Budget * share of the UTC day elapsed * pacing, in whole minor units; 0 while paused."""
        if self.status == "PAUSED":
            return 0
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed_us = (now - midnight) // timedelta(microseconds=1)
        return self.daily_budget * self.pacing_milli * elapsed_us // (1000 * _DAY_US)


@dataclass(frozen=True, slots=True)
class Change:
    """The fields a PATCH (or an out-of-band edit) asks to set; None means "leave as is"."""

    daily_budget: int | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    body: Json
    etag: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class _Record:
    fingerprint: tuple[str, str, int | None, str | None]
    result: WriteResult


class Platform:
    """The sandbox platform's state. Every method is atomic under one lock, so writes are linearizable."""

    def __init__(self, *, seed: int, clock: Clock = utc_now) -> None:
        self.seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._seeds: list[CampaignSeed] = []
        self._campaigns: dict[tuple[str, str], Campaign] = {}
        self._by_account: dict[str, list[Campaign]] = {}
        self._performance: Performance | None = None
        self._writes: list[Json] = []
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self.reset()

    def reset(self) -> None:
        """Re-seed every campaign and forget writes and idempotency records."""
        now = self._now()
        seeds = seed_campaigns(seed=self.seed, now=now)
        campaigns = [
            Campaign(s.id, s.account_id, s.name, s.status, s.daily_budget, s.pacing_milli, 1, s.updated_at)
            for s in seeds
        ]
        with self._lock:
            self._seeds = seeds
            self._campaigns = {(c.account_id, c.id): c for c in campaigns}
            self._by_account = {
                a.id: sorted((c for c in campaigns if c.account_id == a.id), key=_by_id) for a in ACCOUNTS
            }
            self._performance = seed_performance(seed=self.seed, campaigns=seeds, today=now.date())
            self._writes = []
            self._records = OrderedDict()

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def accounts(self) -> list[Json]:
        return [account.to_json() for account in ACCOUNTS]

    def campaigns(self, *, account_id: str) -> list[Json]:
        now = self._now()
        with self._lock:
            return [c.to_json(now) for c in self._account(account_id)]

    def campaign(self, *, account_id: str, campaign_id: str) -> tuple[Json, str]:
        now = self._now()
        with self._lock:
            campaign = self._campaign(account_id, campaign_id)
            return campaign.to_json(now), campaign.etag

    def change(
        self,
        *,
        account_id: str,
        campaign_id: str,
        change: Change,
        source: Source,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> WriteResult:
        """Apply `change`: idempotency replay first, then If-Match, then the write (logged per field)."""
        fingerprint = (account_id, campaign_id, change.daily_budget, change.status)
        with self._lock:
            campaign = self._campaign(account_id, campaign_id)
            if idempotency_key is not None and (record := self._records.get(idempotency_key)):
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was already used with a different request; use a new key."
                    )
                return WriteResult(record.result.body, record.result.etag, replayed=True)
            if if_match is not None and not _matches(if_match, campaign.etag):
                raise PreconditionFailed(
                    f"If-Match {if_match} does not match the campaign's current ETag {campaign.etag}."
                )
            now = self._now()
            self._apply(campaign, change, source=source, idempotency_key=idempotency_key, now=now)
            result = WriteResult(campaign.to_json(now), campaign.etag, replayed=False)
            if idempotency_key is not None:
                self._records[idempotency_key] = _Record(fingerprint, result)
                if len(self._records) > MAX_IDEMPOTENCY_RECORDS:
                    self._records.popitem(last=False)
            return result

    def _apply(
        self,
        campaign: Campaign,
        change: Change,
        *,
        source: Source,
        idempotency_key: str | None,
        now: datetime,
    ) -> None:
        changed: list[tuple[str, int | str, int | str]] = []
        if change.daily_budget is not None and change.daily_budget != campaign.daily_budget:
            changed.append(("daily_budget", campaign.daily_budget, change.daily_budget))
            campaign.daily_budget = change.daily_budget
        if change.status is not None and change.status != campaign.status:
            changed.append(("status", campaign.status, change.status))
            campaign.status = change.status
        if not changed:
            return
        campaign.version += 1
        campaign.updated_at = now
        for field, old, new in changed:
            self._writes.append(
                {
                    "account": campaign.account_id,
                    "campaign": campaign.id,
                    "field": field,
                    "old": old,
                    "new": new,
                    "idempotency_key": idempotency_key,
                    "ts": iso(now),
                    "source": source,
                }
            )

    def writes(self) -> list[Json]:
        with self._lock:
            return list(self._writes)

    def insights(
        self, *, account_id: str, campaign_id: str | None, since: date, until: date, granularity: str
    ) -> list[Json]:
        """Rows for the days of [since, until] that fall in the last 90 days; a total is one row or none."""
        if since > until:
            raise InvalidRequest(f"since ({since}) is after until ({until}).")
        if (until - since).days + 1 > MAX_INSIGHT_RANGE_DAYS:
            raise InvalidRequest(f"The date range is longer than {MAX_INSIGHT_RANGE_DAYS} days.")
        with self._lock:
            self._account(account_id)
            if campaign_id is not None:
                self._campaign(account_id, campaign_id)
            performance = self._current_performance()
        days = (
            performance.by_account[account_id]
            if campaign_id is None
            else performance.by_campaign[campaign_id]
        )
        start = max(0, (since - performance.first_day).days)
        stop = min(INSIGHT_DAYS, (until - performance.first_day).days + 1)
        if start >= stop:
            return []
        if granularity == "total":
            return [_row(None, campaign_id, sum_metrics(days[start:stop]))]
        return [
            _row(performance.first_day + timedelta(days=i), campaign_id, days[i]) for i in range(start, stop)
        ]

    def _current_performance(self) -> Performance:
        """The 90 days ending yesterday; rebuilt (same numbers per date) when the UTC day rolls over."""
        today = self._now().date()
        performance = self._performance
        if performance is None or performance.first_day != today - timedelta(days=INSIGHT_DAYS):
            performance = seed_performance(seed=self.seed, campaigns=self._seeds, today=today)
            self._performance = performance
        return performance

    def _account(self, account_id: str) -> list[Campaign]:
        campaigns = self._by_account.get(account_id)
        if campaigns is None:
            raise NotFound(f"No account {account_id!r}.")
        return campaigns

    def _campaign(self, account_id: str, campaign_id: str) -> Campaign:
        self._account(account_id)
        campaign = self._campaigns.get((account_id, campaign_id))
        if campaign is None:
            raise NotFound(f"No campaign {campaign_id!r} in account {account_id!r}.")
        return campaign


def _by_id(campaign: Campaign) -> str:
    return campaign.id


def _matches(if_match: str, etag: str) -> bool:
    """Strong comparison against a comma-separated If-Match list; `*` matches any existing campaign."""
    return any(candidate.strip() in ("*", etag) for candidate in if_match.split(","))


def _row(day: date | None, campaign_id: str | None, metrics: Metrics) -> Json:
    return {
        "date": None if day is None else day.isoformat(),
        "campaign_id": campaign_id,
        "impressions": metrics.impressions,
        "clicks": metrics.clicks,
        "spend": metrics.spend,
        "conversions": metrics.conversions,
        "conversion_value": metrics.conversion_value,
    }
