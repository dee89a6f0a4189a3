"""The walking skeleton, end to end: every service a `spendgate` subprocess, a draft from MCP to adsim.

propose (fastmcp.Client, agent token) → arm + confirm (REST, alice) → the worker applies it → exactly one
API write in adsim; then the MCP Inspector CLI lists exactly the SPEC's tools.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import INSPECTOR, Stack
from tests.e2e.flows import US, adsim_campaign, api_writes, bearer, propose_raise, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

FORBIDDEN_VERBS = {"approve", "arm", "confirm", "apply", "execute", "rollback"}
SPEC_TOOLS = {
    "list_accounts",
    "get_account_snapshot",
    "query_entities",
    "get_performance",
    "list_drafts",
    "get_draft",
    "get_audit_log",
    "propose_budget_change",
    "propose_budget_shift",
    "propose_status_change",
    "withdraw_draft",
}


async def test_a_draft_travels_from_mcp_through_two_step_approval_to_one_platform_write(stack: Stack) -> None:
    campaign = "cmp_us_001"
    draft_id, before, after = await propose_raise(stack, campaign)

    alice = bearer(stack.tokens.alice)
    with httpx.Client(base_url=stack.api_url, timeout=10) as api:
        got = api.get(f"/v1/drafts/{draft_id}", headers=alice)
        assert got.status_code == 200, got.text
        assert Decimal(got.json()["changes"][0]["before"]) == Decimal(before) / 100
        armed = api.post(f"/v1/drafts/{draft_id}/arm", headers={**alice, "If-Match": got.headers["ETag"]})
        assert armed.status_code == 200, armed.text
        token = armed.json()["confirm_token"]
        confirmed = api.post(f"/v1/drafts/{draft_id}/confirm", headers=alice, json={"confirm_token": token})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["status"] in ("approved", "applying", "applied")

        applied = wait_for_status(stack, draft_id, stack.tokens.alice, "applied")
        assert applied["applied_at"]

        again = api.post(f"/v1/drafts/{draft_id}/confirm", headers=alice, json={"confirm_token": token})
        assert again.status_code in (200, 409), again.text  # a late retry never makes a second write

    time.sleep(0.5)  # give a (wrong) second apply the chance to show up
    writes = api_writes(stack, campaign)
    assert len(writes) == 1, writes
    write = writes[0]
    assert (write["account"], write["field"]) == (US, "daily_budget")
    assert (write["old"], write["new"]) == (before, after)
    assert write["idempotency_key"]
    assert adsim_campaign(stack, US, campaign)["daily_budget"] == after


def test_an_agent_token_cannot_use_the_approval_api(stack: Stack) -> None:
    for token in (stack.tokens.agent, "not-a-token"):
        response = httpx.get(f"{stack.api_url}/v1/drafts", headers=bearer(token), timeout=10)
        assert response.status_code in (401, 403), response.text
        assert set(response.json()["error"]) == {"code", "message"}


def test_the_mcp_inspector_cli_lists_exactly_the_spec_tools(stack: Stack, tmp_path: Any) -> None:
    npx = shutil.which("npx")
    if npx is None or not INSPECTOR.is_dir():
        pytest.skip("the MCP Inspector is not installed: run `npm ci` in the repository root (.ci/run does)")
    env = {
        **os.environ,
        # Keep the inspector's catalog and client config out of the developer's home directory.
        "MCP_CATALOG_PATH": str(tmp_path / "catalog.json"),
        "MCP_CLIENT_CONFIG_PATH": str(tmp_path / "client.json"),
        "CI": "true",
    }
    command = [
        npx, "--no-install", "@modelcontextprotocol/inspector", "--cli", stack.mcp_url,
        "--method", "tools/list", "--protocol-era", "auto", "--stored-auth-only", "--format", "json",
        "--header", f"Authorization: Bearer {stack.tokens.agent}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=INSPECTOR.parents[2], env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0, f"inspector exited {done.returncode}\n{done.stderr}\n{stack.log_tails()}"
    tools = json.loads(done.stdout)["result"]["tools"]  # --format json: {"result": <tools/list result>}
    names = {tool["name"] for tool in tools}
    assert names == SPEC_TOOLS
    for tool in tools:
        assert not FORBIDDEN_VERBS & set(tool["name"].split("_"))
