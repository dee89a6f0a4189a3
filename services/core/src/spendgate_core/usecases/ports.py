"""The ports: what the use cases need from the outside (draft store, ledger, events, the platform's read
side), as protocols. Each has one real adapter in `spendgate_core.adapters`; the write port lives apart,
in `platform_writer`, so that the gateway's import graph never reaches it."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from pydantic import JsonValue

from spendgate_core.contracts.events import Event, EventType
from spendgate_core.contracts.ledger import EntryRequest, LedgerEntry, VerifyReport
from spendgate_core.domain.models import (
    Draft,
    DraftStatus,
)
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow


class PlatformReader(Protocol):
    platform: str

    def list_accounts(self) -> list[Account]: ...

    def list_campaigns(self, account_id: str) -> list[Campaign]: ...

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        """The live campaign; raises NotFound for an unknown account or campaign."""
        ...

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]: ...


class AsyncCampaignReader(Protocol):
    """The live campaign read that drafts start from, for an event loop."""

    platform: str

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        """As `PlatformReader.get_campaign`."""
        ...


class AsyncPlatformReader(AsyncCampaignReader, Protocol):
    """`PlatformReader` for an event loop: the same reads, answers and errors, awaited."""

    async def list_accounts(self) -> list[Account]: ...

    async def list_campaigns(self, account_id: str) -> list[Campaign]: ...

    async def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]: ...


class AsyncDraftStore(Protocol):
    """What staging a draft writes and reads on an event loop: the same records as `DraftStore`."""

    async def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None: ...
    async def envelope_used(self, account_id: str, *, now: datetime) -> int: ...


class EntryRecorder(Protocol):
    """The ledger, for code on an event loop."""

    async def record(self, request: EntryRequest) -> None:
        """Return once the entry is in the ledger."""
        ...


class DraftStore(Protocol):
    def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None: ...
    def get(self, draft_id: str) -> Draft: ...
    def save(self, draft: Draft, *, expected_version: int) -> Draft: ...
    def reserve_and_save(
        self, draft: Draft, *, expected_version: int, envelope_cap: int, now: datetime
    ) -> Draft: ...
    def list(
        self, *, accounts: frozenset[str] | None, status: DraftStatus | None, limit: int
    ) -> builtins.list[Draft]: ...
    def ids_with_status(self, status: DraftStatus) -> builtins.list[str]: ...
    def ids_due_to_expire(self, *, now: datetime, limit: int = 1000) -> builtins.list[str]: ...
    def open_count(self, account_id: str) -> int: ...
    def envelope_used(self, account_id: str, *, now: datetime) -> int: ...


class Ledger(Protocol):
    def append(
        self,
        *,
        actor: str,
        action: str,
        account_id: str | None = None,
        draft_id: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
    ) -> LedgerEntry:
        """Append one signed entry and return it; ValueError for an action not in ACTIONS."""
        ...

    def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        """Append a batch in order, as one group commit; raises the first request's error."""
        ...

    def latest(self, *, account_id: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        """Newest first; only `account_id`'s entries when given; `limit` clamped to 1..1000."""
        ...

    def export(self) -> Iterator[LedgerEntry]:
        """Every entry, oldest first, read in batches."""
        ...

    def verify(self) -> VerifyReport:
        """Recompute the chain, every signature and the checkpoint; never raises on tampered data."""
        ...


class EventSink(Protocol):
    def publish(self, type: EventType, draft: Draft, *, now: datetime, url: str | None) -> None:
        """Announce that `draft` (as saved) reached the state `type` names. Never raises."""
        ...
