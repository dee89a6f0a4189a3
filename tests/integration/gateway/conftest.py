"""Gateway fixtures: the real gateway app on a real uvicorn, against the world's Redis and adsim."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from fastmcp import Client
from fastmcp.exceptions import ToolError

from spendgate_core.adapters.ledger import RedisLedger
from spendgate_core.contracts.ledger import LedgerEntry
from spendgate_core.contracts.signing import load_signing_key
from spendgate_core.domain.clock import SystemClock
from spendgate_core.runtime.settings import load_settings
from spendgate_gateway.app import create_app
from spendgate_gateway.settings import GatewaySettings
from tests.support.processes import RedisServer
from tests.support.servers import serve_in_thread
from tests.support.stack import ADSIM_READ_TOKEN, KEYS, World, make_world

CONSOLE = "http://console.test:8081"


def gateway_settings(world: World, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "redis_url": world.redis_url,
        "principals_file": world.principals_file,
        "policy_file": world.policy_file,
        "ledger_key_file": world.ledger_key_file,
        "adsim_url": world.adsim_url,
        "adsim_read_token": ADSIM_READ_TOKEN,
        "public_url": CONSOLE,
        **overrides,
    }
    return load_settings(GatewaySettings, **values)


@pytest.fixture
def gateway(world: World) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a gateway serving /mcp."""
    with serve_in_thread(create_app(gateway_settings(world))) as url:
        yield url


@pytest.fixture
def mcp_url(gateway: str) -> str:
    return f"{gateway}/mcp"


@pytest.fixture(scope="module")
def shared_gateway(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, adsim_server: str
) -> Iterator[tuple[World, str]]:
    world = make_world(tmp_path_factory.mktemp("world"), redis_url=redis_server.url, adsim_url=adsim_server)
    with serve_in_thread(create_app(gateway_settings(world))) as url:
        yield world, f"{url}/mcp"


@pytest.fixture
def shared(shared_gateway: tuple[World, str], adsim_server: str) -> tuple[World, str]:
    """One world and gateway for a whole module, for refusals that never change state (much faster).
    The session's adsim is shared too: faults an earlier test left switched on are switched off."""
    httpx.post(f"{adsim_server}/_sim/faults", json={}, timeout=10).raise_for_status()
    return shared_gateway


async def call(
    url: str, token: str, tool: str, arguments: dict[str, Any], *, mode: str = "auto"
) -> dict[str, Any]:
    """Call one tool and return its structured result (raises ToolError on a tool error)."""
    async with Client(url, auth=token, mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool(tool, arguments)
        assert result.structured_content is not None
        return result.structured_content


async def tool_error(
    url: str, token: str, tool: str, arguments: dict[str, Any], *, mode: str = "auto"
) -> str:
    """Call one tool that must fail with a tool error; return the error text."""
    async with Client(url, auth=token, mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(ToolError) as caught:
            await client.call_tool(tool, arguments)
        return str(caught.value)


def adsim_get(world: World, path: str, **params: str) -> Any:
    """Read the sandbox platform directly, as the ground truth the gateway must reflect."""
    response = httpx.get(
        f"{world.adsim_url}{path}", params=params, headers={"Authorization": f"Bearer {ADSIM_READ_TOKEN}"}
    )
    response.raise_for_status()
    return response.json()


def live_campaigns(world: World, account_id: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in adsim_get(world, f"/v1/accounts/{account_id}/campaigns")["campaigns"]}


def set_out_of_band(world: World, account_id: str, campaign_id: str, **fields: Any) -> None:
    """Change a campaign in the platform's own UI, behind spendgate's back."""
    httpx.post(f"{world.adsim_url}/_sim/campaigns/{account_id}/{campaign_id}", json=fields).raise_for_status()


def read_entries(world: World) -> list[LedgerEntry]:
    """Every `read` ledger entry, oldest first (and the whole ledger must verify)."""
    with redis.Redis.from_url(world.redis_url) as client:
        ledger = RedisLedger(
            redis=client, signer=load_signing_key(world.ledger_key_file), clock=SystemClock(), keys=KEYS
        )
        assert ledger.verify().ok
        return [e for e in ledger.export() if e.action == "read"]
