"""What the gateway's tools need, wired once per process: core use cases, a cached reader, principals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from pydantic import JsonValue

from spendgate_core.adapters.store import AsyncDraftStore
from spendgate_core.contracts.ledger import EntryRequest
from spendgate_core.domain.platform import Account
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.drafting import DraftIO
from spendgate_gateway.audit import LedgerBatcher
from spendgate_gateway.auth import current_principal
from spendgate_gateway.cache import CachedReader
from spendgate_gateway.reads import CampaignRows


@dataclass(frozen=True)
class GatewayDeps:
    """`reads` is the cached reader; `drafting.reader` reads live (proposals record `before` from it);
    both, and `core.catalog`, are the one aiohttp reader.

    Tools run on the event loop: reads await the cache (a miss awaits the platform) and `store` (its
    account counters), proposals await the platform and the store, and both ledger through `audit`'s
    group commit. Only blocking Redis work (a store query, a withdrawal) goes to a worker thread.
    """

    core: CoreDeps
    reads: CachedReader
    directory: PrincipalDirectory
    redis_client: redis.Redis
    store: AsyncDraftStore
    audit: LedgerBatcher
    drafting: DraftIO
    principals_file: Path
    rows: CampaignRows = field(init=False, default_factory=CampaignRows)
    closers: tuple[Callable[[], None], ...] = field(default=())
    async_closers: tuple[Callable[[], Awaitable[None]], ...] = field(default=())

    def principal(self) -> Principal:
        return current_principal(self.directory)

    async def account(self, principal: Principal, account_id: str) -> Account:
        """The account if the principal may see it (NotFound otherwise)."""
        return await self.core.catalog.aget(principal, account_id)

    async def visible_accounts(self, principal: Principal) -> list[Account]:
        return await self.core.catalog.avisible_to(principal)

    async def record_read(
        self,
        principal: Principal,
        tool: str,
        *,
        account_id: str | None = None,
        draft_id: str | None = None,
        **arguments: JsonValue,
    ) -> None:
        """One `read` ledger entry per answered read call: who read what."""
        details: dict[str, JsonValue] = {
            "tool": tool,
            **{k: v for k, v in arguments.items() if v is not None},
        }
        await self.audit.record(EntryRequest(principal.name, "read", account_id, draft_id, details))

    async def aclose(self) -> None:
        await self.drafting.drain()  # drafts whose callers hung up: stored (and announced), so ledger them
        await self.audit.drain()
        for aclose in self.async_closers:
            await aclose()
        for close in self.closers:
            close()
