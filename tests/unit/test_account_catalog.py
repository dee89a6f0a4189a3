"""The account catalog: who sees which account, once per TTL a load, and on the gateway's event loop no
worker thread and one shared reload however many calls find the list stale."""

from __future__ import annotations

import asyncio
import threading

import pytest

from spendgate_core.domain.platform import Account
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import NotFound
from spendgate_core.usecases.deps import AccountCatalog

pytestmark = pytest.mark.anyio

AGENT = Principal(name="agent", kind="agent", token_sha256="0" * 64, accounts=("a",))


def account(account_id: str) -> Account:
    return Account(
        id=account_id, name=account_id, platform="fake", currency="USD", timezone="UTC", status="ACTIVE"
    )


class LoopPlatform:
    """An in-memory platform for an event loop (a fake of the port), noting the thread of every load."""

    platform = "fake"

    def __init__(self) -> None:
        self.loads: list[int] = []

    async def list_accounts(self) -> list[Account]:
        self.loads.append(threading.get_ident())
        await asyncio.sleep(0.05)
        return [account("a"), account("b")]


async def test_loop_callers_share_one_reload_on_the_loop_and_see_only_their_accounts() -> None:
    platform = LoopPlatform()
    catalog = AccountCatalog(platform.platform, load=None, aload=platform.list_accounts)
    found = await asyncio.gather(*(catalog.aget(AGENT, "a") for _ in range(20)))
    assert {a.id for a in found} == {"a"}
    assert platform.loads == [threading.get_ident()]  # one load, on the loop's own thread
    assert [a.id for a in await catalog.avisible_to(AGENT)] == ["a"]
    for hidden in ("b", "nope"):  # another principal's account answers exactly like an unknown one
        with pytest.raises(NotFound, match=f"unknown account '{hidden}'; call list_accounts"):
            await catalog.aget(AGENT, hidden)
    assert len(platform.loads) == 1  # fresh for the TTL
    with pytest.raises(RuntimeError, match="event loop"):
        catalog.all()  # the gateway's catalog has no blocking door


async def test_a_stale_list_is_reloaded() -> None:
    platform = LoopPlatform()
    catalog = AccountCatalog(platform.platform, load=None, aload=platform.list_accounts, ttl_seconds=0)
    await catalog.aget(AGENT, "a")
    await catalog.aget(AGENT, "a")
    assert len(platform.loads) == 2
