"""The manifest is the boundary: exactly the SPEC's tools, honest annotations, scopes, and HTTP auth."""

from __future__ import annotations

import re

import httpx
import pytest
from fastmcp import Client

from tests.integration.gateway.conftest import tool_error
from tests.support.stack import World

pytestmark = pytest.mark.anyio

READ_TOOLS = {
    "list_accounts",
    "get_account_snapshot",
    "query_entities",
    "get_performance",
    "list_drafts",
    "get_draft",
    "get_audit_log",
}
DRAFT_TOOLS = {"propose_budget_change", "propose_budget_shift", "propose_status_change", "withdraw_draft"}
SPEC_ARGUMENTS = {
    "list_accounts": set(),
    "get_account_snapshot": {"account_id"},
    "query_entities": {"account_id", "entity_type", "filters", "sort_by", "descending", "limit"},
    "get_performance": {"account_id", "entity_id", "start_date", "end_date", "granularity"},
    "list_drafts": {"account_id", "status", "limit"},
    "get_draft": {"draft_id"},
    "get_audit_log": {"account_id", "limit"},
    "propose_budget_change": {
        "account_id",
        "campaign_id",
        "new_daily_budget",
        "reason",
        "expected_current_budget",
    },
    "propose_budget_shift": {"account_id", "from_campaign_id", "to_campaign_id", "amount", "reason"},
    "propose_status_change": {"account_id", "campaign_id", "new_status", "reason"},
    "withdraw_draft": {"draft_id", "reason"},
}
FORBIDDEN = re.compile(r"approv|arm|confirm|apply|execut|rollback|roll_back|revert|commit|publish|push", re.I)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_manifest_is_exactly_the_spec_tools(world: World, mcp_url: str, mode: str) -> None:
    async with Client(mcp_url, auth=world.tokens.agent, mode=mode) as client:  # type: ignore[arg-type]
        assert client.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == READ_TOOLS | DRAFT_TOOLS
    for name, tool in tools.items():
        assert not FORBIDDEN.search(name), name
        assert set(tool.input_schema["properties"]) == SPEC_ARGUMENTS[name], name
        assert tool.input_schema.get("additionalProperties") is False, name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", name
        assert tool.title and tool.annotations is not None and tool.annotations.title == tool.title
        assert tool.description
        if name in READ_TOOLS:
            assert tool.annotations.read_only_hint is True, name
        else:
            assert tool.annotations.read_only_hint is False, name
            assert tool.annotations.destructive_hint is False, name


async def test_input_schemas_carry_the_constraints(world: World, mcp_url: str) -> None:
    async with Client(mcp_url, auth=world.tokens.agent) as client:
        tools = {t.name: t.input_schema["properties"] for t in await client.list_tools()}
    change = tools["propose_budget_change"]
    assert change["account_id"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    assert change["campaign_id"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"
    assert change["reason"]["minLength"] == 1 and change["reason"]["maxLength"] == 2000
    money = change["new_daily_budget"]
    assert {branch["type"] for branch in money["anyOf"]} == {"string", "number"}
    assert "major unit" in money["description"] and "650.00" in money["description"]
    assert tools["get_draft"]["draft_id"]["pattern"] == "^drf_[0-9A-HJKMNP-TV-Z]{26}$"
    assert tools["withdraw_draft"]["draft_id"]["pattern"] == "^drf_[0-9A-HJKMNP-TV-Z]{26}$"
    assert tools["query_entities"]["limit"]["maximum"] == 200
    assert tools["query_entities"]["limit"]["minimum"] == 1
    assert tools["query_entities"]["entity_type"]["const"] == "campaign"
    assert tools["get_performance"]["start_date"]["format"] == "date"
    assert set(tools["get_performance"]["granularity"]["enum"]) == {"day", "total"}
    assert set(tools["propose_status_change"]["new_status"]["enum"]) == {"PAUSED", "ENABLED"}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_read_only_token_sees_and_calls_no_draft_tool(world: World, mcp_url: str, mode: str) -> None:
    async with Client(mcp_url, auth=world.tokens.reader, mode=mode) as client:  # type: ignore[arg-type]
        assert {t.name for t in await client.list_tools()} == READ_TOOLS
    for name, arguments in [
        (
            "propose_budget_change",
            {
                "account_id": "acc_us_001",
                "campaign_id": "cmp_us_001",
                "new_daily_budget": "700.00",
                "reason": "x",
            },
        ),
        (
            "propose_status_change",
            {
                "account_id": "acc_us_001",
                "campaign_id": "cmp_us_001",
                "new_status": "PAUSED",
                "reason": "x",
            },
        ),
        ("withdraw_draft", {"draft_id": "drf_01JD0000000000000000000000", "reason": "x"}),
    ]:
        message = await tool_error(mcp_url, world.tokens.reader, name, arguments, mode=mode)
        assert "Unknown tool" in message or "not found or not authorized" in message


def test_no_token_gets_401_with_www_authenticate(world: World, mcp_url: str) -> None:
    response = httpx.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", ["alice", "viewer", "garbage"])
def test_humans_and_unknown_tokens_are_rejected(world: World, mcp_url: str, who: str) -> None:
    token = "sga_not-a-real-token" if who == "garbage" else getattr(world.tokens, who)
    response = httpx.post(
        mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert "invalid_token" in response.headers["www-authenticate"]


def test_health_readiness_and_metrics_routes(gateway: str) -> None:
    assert httpx.get(f"{gateway}/healthz").json() == {"ok": True}
    ready = httpx.get(f"{gateway}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ok": True, "checks": {"redis": True, "principals_file": True}}
    metrics = httpx.get(f"{gateway}/metrics")
    assert metrics.status_code == 200
    assert (
        "spendgate_mcp_tool_calls_total" in metrics.text
        or "spendgate_mcp_tool_duration_seconds" in metrics.text
    )
