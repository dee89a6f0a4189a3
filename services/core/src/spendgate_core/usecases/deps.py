"""What the use cases need, wired once per process by each service's entrypoint."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING

import anyio.to_thread

from spendgate_core.domain.clock import Clock
from spendgate_core.domain.platform import Account
from spendgate_core.domain.policy import Limits, PolicyBook
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import NotFound
from spendgate_core.usecases.ports import AsyncPlatformReader, DraftStore, Ledger, PlatformReader

if TYPE_CHECKING:
    from spendgate_core.usecases.ports import EventSink


class AccountCatalog:
    """The platform's accounts, cached briefly: they change rarely and every tool call needs them.

    Which accounts a principal sees, and the one answer for any other id, are decided here once. The
    list is loaded the way the service reads the platform, once per TTL: a blocking catalog (`blocking`:
    the approval service, the executor) loads in the calling thread, and in a worker thread for code on
    an event loop; the gateway's (`on_loop`) awaits its reader on the loop and has no blocking door.
    Concurrent loop callers that find the list stale share one reload.
    """

    def __init__(
        self,
        platform: str,
        *,
        load: Callable[[], list[Account]] | None,
        aload: Callable[[], Awaitable[list[Account]]],
        ttl_seconds: float = 60.0,
    ) -> None:
        self.platform = platform
        self._load = load
        self._aload = aload
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._known: tuple[float, dict[str, Account]] = (float("-inf"), {})
        self._reloading: asyncio.Future[dict[str, Account]] | None = None

    @classmethod
    def blocking(cls, reader: PlatformReader, *, ttl_seconds: float = 60.0) -> AccountCatalog:
        def in_thread() -> Awaitable[list[Account]]:
            return anyio.to_thread.run_sync(reader.list_accounts)

        return cls(reader.platform, load=reader.list_accounts, aload=in_thread, ttl_seconds=ttl_seconds)

    @classmethod
    def on_loop(cls, reader: AsyncPlatformReader, *, ttl_seconds: float = 60.0) -> AccountCatalog:
        return cls(reader.platform, load=None, aload=reader.list_accounts, ttl_seconds=ttl_seconds)

    def _fresh(self) -> dict[str, Account] | None:
        loaded_at, accounts = self._known
        return accounts if time.monotonic() - loaded_at <= self._ttl else None

    def _remember(self, accounts: list[Account]) -> dict[str, Account]:
        known = {a.id: a for a in accounts}
        self._known = (time.monotonic(), known)  # one assignment: readers see the old list or the new
        return known

    # Blocking door -------------------------------------------------------------------------------------
    def all(self) -> list[Account]:
        if self._load is None:
            raise RuntimeError("this catalog reads the platform on an event loop: await aget/avisible_to")
        with self._lock:
            known = self._fresh()
            if known is None:
                known = self._remember(self._load())
            return list(known.values())

    def visible_to(self, principal: Principal) -> list[Account]:
        return [a for a in self.all() if principal.sees(a.id)]

    def get(self, principal: Principal, account_id: str) -> Account:
        """The account if the principal may see it; otherwise exactly like an unknown id."""
        return _visible(principal, account_id, {a.id: a for a in self.all()})

    # Event-loop door -----------------------------------------------------------------------------------
    async def aget(self, principal: Principal, account_id: str) -> Account:
        """As `get`, awaiting a reload when the list is stale."""
        return _visible(principal, account_id, await self._accounts())

    async def avisible_to(self, principal: Principal) -> list[Account]:
        return [a for a in (await self._accounts()).values() if principal.sees(a.id)]

    async def _accounts(self) -> dict[str, Account]:
        known = self._fresh()
        if known is not None:
            return known
        reload = self._reloading
        if reload is None or reload.get_loop() is not asyncio.get_running_loop():
            reload = self._reloading = asyncio.ensure_future(self._reload())
        # Shielded: a caller that hangs up does not cancel the reload the others wait for.
        return await asyncio.shield(reload)

    async def _reload(self) -> dict[str, Account]:
        try:
            return self._remember(await self._aload())
        finally:
            self._reloading = None


def _visible(principal: Principal, account_id: str, accounts: dict[str, Account]) -> Account:
    account = accounts.get(account_id) if principal.sees(account_id) else None
    if account is None:
        raise NotFound(f"unknown account {account_id!r}; call list_accounts to see the ids you can use")
    return account


@dataclass(frozen=True)
class CoreDeps:
    """`platform_reader`: the blocking reader of the services that read that way (the approval service,
    the executor); the gateway reads on its event loop and passes its `catalog` instead."""

    store: DraftStore
    ledger: Ledger
    policies: PolicyBook
    clock: Clock
    platform_reader: PlatformReader | None = None
    console_url: str = "http://127.0.0.1:8081/console"
    events: EventSink | None = None  # where state changes are announced (None: nowhere, e.g. unit tests)
    accounts: InitVar[AccountCatalog | None] = None
    catalog: AccountCatalog = field(init=False)

    def __post_init__(self, accounts: AccountCatalog | None) -> None:
        if accounts is None:
            accounts = AccountCatalog.blocking(self.reader)
        object.__setattr__(self, "catalog", accounts)

    @property
    def reader(self) -> PlatformReader:
        if self.platform_reader is None:
            raise RuntimeError("no blocking platform reader is wired here (the gateway reads on its loop)")
        return self.platform_reader

    def limits(self, account_id: str, currency: str) -> Limits:
        return Limits.of(self.policies.for_account(account_id), currency)

    def draft_url(self, draft_id: str) -> str:
        return f"{self.console_url.rstrip('/')}/drafts/{draft_id}"
