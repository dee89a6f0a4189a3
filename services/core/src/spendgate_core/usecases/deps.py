"""What the use cases need, wired once per process by each service's entrypoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import anyio.to_thread

from spendgate_core.domain.clock import Clock
from spendgate_core.domain.platform import Account
from spendgate_core.domain.policy import Limits, PolicyBook
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import NotFound
from spendgate_core.usecases.ports import DraftStore, Ledger, PlatformReader

if TYPE_CHECKING:
    from spendgate_core.usecases.ports import EventSink

T = TypeVar("T")


class AccountCatalog:
    """The platform's accounts, cached briefly: they change rarely and every tool call needs them."""

    def __init__(self, reader: PlatformReader, *, ttl_seconds: float = 60.0) -> None:
        self._reader = reader
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._accounts: dict[str, Account] = {}

    @property
    def fresh(self) -> bool:
        """Whether `all()` and `get()` will answer from memory, without a platform request."""
        return time.monotonic() - self._loaded_at <= self._ttl

    def all(self) -> list[Account]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                self._accounts = {a.id: a for a in self._reader.list_accounts()}
                self._loaded_at = time.monotonic()
            return list(self._accounts.values())

    def visible_to(self, principal: Principal) -> list[Account]:
        return [a for a in self.all() if principal.sees(a.id)]

    def get(self, principal: Principal, account_id: str) -> Account:
        """The account if the principal may see it; otherwise exactly like an unknown id."""
        if principal.sees(account_id):
            for account in self.all():
                if account.id == account_id:
                    return account
        raise NotFound(f"unknown account {account_id!r}; call list_accounts to see the ids you can use")

    async def aget(self, principal: Principal, account_id: str) -> Account:
        """`get` for an event loop: from memory while fresh; a reload (a platform request) in a thread."""
        return await self._on_loop(lambda: self.get(principal, account_id))

    async def avisible_to(self, principal: Principal) -> list[Account]:
        return await self._on_loop(lambda: self.visible_to(principal))

    async def _on_loop(self, lookup: Callable[[], T]) -> T:
        if self.fresh:
            return lookup()
        return await anyio.to_thread.run_sync(lookup)


@dataclass(frozen=True)
class CoreDeps:
    store: DraftStore
    ledger: Ledger
    policies: PolicyBook
    clock: Clock
    reader: PlatformReader
    console_url: str = "http://127.0.0.1:8081/console"
    events: EventSink | None = None  # where state changes are announced (None: nowhere, e.g. unit tests)
    catalog: AccountCatalog = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "catalog", AccountCatalog(self.reader))

    def limits(self, account_id: str, currency: str) -> Limits:
        return Limits.of(self.policies.for_account(account_id), currency)

    def draft_url(self, draft_id: str) -> str:
        return f"{self.console_url.rstrip('/')}/drafts/{draft_id}"
