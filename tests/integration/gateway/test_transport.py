"""Transport and edges: two replicas behind one address, both protocol eras, masking, metrics, readiness."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastmcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spendgate_gateway.app import create_app
from tests.integration.gateway.conftest import call, gateway_settings, tool_error
from tests.support.processes import closed_port
from tests.support.servers import serve_in_thread
from tests.support.stack import US, World

pytestmark = pytest.mark.anyio

ACCEPT = "application/json, text/event-stream"
HANDSHAKE_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]


@pytest.fixture
def replicas(world: World) -> Iterator[tuple[str, str]]:
    """Two gateway processes' worth of apps: separate FastMCP instances, shared Redis and platform."""
    with (
        serve_in_thread(create_app(gateway_settings(world))) as a,
        serve_in_thread(create_app(gateway_settings(world))) as b,
    ):
        yield a, b


def round_robin(targets: tuple[str, str]) -> Starlette:
    """A non-sticky load balancer: each request goes to the next replica in turn."""
    turn = itertools.cycle(targets)
    hop_by_hop = {"host", "content-length", "connection", "transfer-encoding"}

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop_by_hop}
        async with httpx.AsyncClient(timeout=30) as client:
            upstream = await client.request(
                request.method,
                f"{next(turn)}{request.url.path}",
                headers=headers,
                content=await request.body(),
            )
        kept = {
            k: v for k, v in upstream.headers.items() if k.lower() not in hop_by_hop | {"content-encoding"}
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=kept)

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE"])])


def rpc(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response, whether sent as JSON or as one SSE event."""
    assert response.status_code == 200, (response.status_code, response.text)
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
        return json.loads(data[-1])  # type: ignore[no-any-return]
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_a_legacy_session_alternating_between_two_replicas(
    world: World, replicas: tuple[str, str], version: str
) -> None:
    a, b = (f"{r}/mcp" for r in replicas)
    auth = {"Authorization": f"Bearer {world.tokens.agent}", "Accept": ACCEPT}
    with httpx.Client(timeout=30) as http:
        init = http.post(
            a,
            headers=auth,
            json={
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "old", "version": "1"},
                },
            },
        )
        assert rpc(init)["result"]["protocolVersion"] == version
        assert "spendgate" in rpc(init)["result"]["instructions"]
        headers = {**auth, "MCP-Protocol-Version": version}
        if session := init.headers.get("mcp-session-id"):  # stateless: there is none, so nothing is pinned
            headers["Mcp-Session-Id"] = session
        note = http.post(b, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert note.status_code == 202
        for i, target in enumerate([a, b, a, b]):
            listed = rpc(
                http.post(
                    target, headers=headers, json={"jsonrpc": "2.0", "id": 10 + i, "method": "tools/list"}
                )
            )
            assert len(listed["result"]["tools"]) == 11
        for i, target in enumerate([b, a]):
            answer = rpc(
                http.post(
                    target,
                    headers=headers,
                    json={
                        "jsonrpc": "2.0",
                        "id": 20 + i,
                        "method": "tools/call",
                        "params": {"name": "get_account_snapshot", "arguments": {"account_id": US}},
                    },
                )
            )
            assert answer["result"]["isError"] is False
            assert answer["result"]["structuredContent"]["account"]["id"] == US


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_clients_behind_a_round_robin_balancer(
    world: World, replicas: tuple[str, str], mode: str
) -> None:
    with serve_in_thread(round_robin(replicas)) as balancer:
        url = f"{balancer}/mcp"
        async with Client(url, auth=world.tokens.agent, mode=mode) as client:  # type: ignore[arg-type]
            assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            for _ in range(3):
                assert len(await client.list_tools()) == 11
                result = await client.call_tool("list_accounts", {})
                assert len(result.structured_content["accounts"]) == 3  # type: ignore[index]
            budget = (await client.call_tool("get_account_snapshot", {"account_id": US})).structured_content
            assert budget is not None
            proposal = await client.call_tool(
                "propose_status_change",
                {
                    "account_id": US,
                    "campaign_id": next(c["id"] for c in budget["campaigns"] if c["status"] == "PAUSED"),
                    "new_status": "ENABLED",
                    "reason": "seasonal",
                },
            )
            draft_id = proposal.structured_content["draft_id"]  # type: ignore[index]
            fetched = await client.call_tool("get_draft", {"draft_id": draft_id})
            assert fetched.structured_content["status"] == "pending"  # type: ignore[index]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_unreachable_platform_is_said_plainly(world: World, mode: str) -> None:
    with (
        closed_port() as port,
        serve_in_thread(create_app(gateway_settings(world, adsim_url=f"http://127.0.0.1:{port}"))) as base,
    ):
        url = f"{base}/mcp"
        for tool, arguments in [
            ("list_accounts", {}),
            ("get_account_snapshot", {"account_id": US}),
            (
                "propose_budget_change",
                {"account_id": US, "campaign_id": "cmp_us_001", "new_daily_budget": "1.00", "reason": "r"},
            ),
        ]:
            message = await tool_error(url, world.tokens.agent, tool, arguments, mode=mode)
            assert message == (
                "The ad platform is unreachable or overloaded right now, "
                "so the data could not be read and nothing was changed. Try again in a minute."
            )
            assert "127.0.0.1" not in message and "ConnectError" not in message


async def test_unexpected_failures_are_masked(world: World) -> None:
    with (
        closed_port() as port,
        serve_in_thread(create_app(gateway_settings(world, redis_url=f"redis://127.0.0.1:{port}/0"))) as base,
    ):
        message = await tool_error(f"{base}/mcp", world.tokens.agent, "list_drafts", {})
        assert message == "Error calling tool 'list_drafts'"
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"ok": False, "checks": {"redis": False, "principals_file": True}}
        assert httpx.get(f"{base}/healthz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'spendgate_mcp_tool_calls_total{outcome="error",tool="list_drafts"}' in metrics


async def test_an_unreadable_principals_file_is_not_ready(world: World, gateway: str) -> None:
    world.principals_file.rename(world.principals_file.with_suffix(".gone"))
    ready = httpx.get(f"{gateway}/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["principals_file"] is False


def sample(metrics: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_tool_call_metrics_count_outcomes(world: World, gateway: str) -> None:
    url = f"{gateway}/mcp"
    before = httpx.get(f"{gateway}/metrics").text
    await call(url, world.tokens.agent, "list_accounts", {})
    await tool_error(url, world.tokens.agent, "get_account_snapshot", {"account_id": "acc_nope"})
    await tool_error(url, world.tokens.agent, "get_account_snapshot", {"account_id": "bad id"})
    await tool_error(url, world.tokens.agent, "approve_draft", {"draft_id": "x"})
    after = httpx.get(f"{gateway}/metrics").text
    calls = "spendgate_mcp_tool_calls_total"
    for labels, delta in [
        ({"tool": "list_accounts", "outcome": "ok"}, 1),
        ({"tool": "get_account_snapshot", "outcome": "tool_error"}, 2),
        ({"tool": "unknown", "outcome": "tool_error"}, 1),
    ]:
        assert sample(after, calls, **labels) - sample(before, calls, **labels) == delta, labels
    assert 'tool="approve_draft"' not in after  # client-chosen names never become label values
    count = "spendgate_mcp_tool_duration_seconds_count"
    assert sample(after, count, tool="list_accounts") - sample(before, count, tool="list_accounts") == 1


async def test_read_cache_bounds_platform_requests(world: World) -> None:
    with serve_in_thread(create_app(gateway_settings(world, gateway_cache_ttl_seconds=30))) as base:
        url = f"{base}/mcp"
        metric = "spendgate_upstream_requests_total"
        labels = {"platform": "adsim", "operation": "list_campaigns", "status": "200"}
        before = sample(httpx.get(f"{base}/metrics").text, metric, **labels)
        async with Client(url, auth=world.tokens.agent) as client:
            for _ in range(15):
                await client.call_tool("get_account_snapshot", {"account_id": US})
                await client.call_tool("query_entities", {"account_id": US})
        after = sample(httpx.get(f"{base}/metrics").text, metric, **labels)
        assert after - before == 1
