"""What the gateway's tools need, wired once per process: core use cases, a cached reader, principals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import redis
from pydantic import JsonValue

from spendgate_core.deps import CoreDeps
from spendgate_core.ledger import EntryRequest
from spendgate_core.platforms.reader import Account
from spendgate_core.principals import Principal, PrincipalDirectory
from spendgate_core.store import AccountCounters
from spendgate_gateway.audit import ReadAudit
from spendgate_gateway.auth import current_principal
from spendgate_gateway.cache import CachedReader
from spendgate_gateway.reads import CampaignRows

T = TypeVar("T")


@dataclass(frozen=True)
class GatewayDeps:
    """`core.reader` is live (draft tools record `before` from it); `reads` is the cached reader.

    Read tools are async: they answer from the cache and `counters` on the event loop and ledger through
    `audit`'s group commit, also on the loop; anything that may block (a cache miss, a store query) goes
    to a worker thread.
    """

    core: CoreDeps
    reads: CachedReader
    directory: PrincipalDirectory
    redis_client: redis.Redis
    counters: AccountCounters
    audit: ReadAudit
    principals_file: Path
    rows: CampaignRows = field(init=False, default_factory=CampaignRows)
    closers: tuple[Callable[[], None], ...] = field(default=())
    async_closers: tuple[Callable[[], Awaitable[None]], ...] = field(default=())

    def principal(self) -> Principal:
        return current_principal(self.directory)

    async def account(self, principal: Principal, account_id: str) -> Account:
        """The account if the principal may see it (NotFound otherwise)."""
        return await self._from_catalog(lambda: self.core.catalog.get(principal, account_id))

    async def visible_accounts(self, principal: Principal) -> list[Account]:
        return await self._from_catalog(lambda: self.core.catalog.visible_to(principal))

    async def _from_catalog(self, lookup: Callable[[], T]) -> T:
        """Answered on the loop while the account catalog is fresh; its reload is a platform request."""
        if self.core.catalog.fresh:
            return lookup()
        return await anyio.to_thread.run_sync(lookup)

    async def record_read(
        self,
        principal: Principal,
        tool: str,
        *,
        account_id: str | None = None,
        draft_id: str | None = None,
        **arguments: JsonValue,
    ) -> None:
        """One `read` ledger entry per answered read call: who read what (SPEC §9)."""
        details: dict[str, JsonValue] = {
            "tool": tool,
            **{k: v for k, v in arguments.items() if v is not None},
        }
        await self.audit.record(EntryRequest(principal.name, "read", account_id, draft_id, details))

    async def aclose(self) -> None:
        for aclose in self.async_closers:
            await aclose()
        for close in self.closers:
            close()
