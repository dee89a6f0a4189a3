"""What the e2e tests do to a running stack: propose through MCP, watch a draft, read adsim."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client

from tests.e2e.conftest import Stack
from tests.support.stack import ADSIM_READ_TOKEN
from tests.support.waiting import eventually

US = "acc_us_001"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def adsim_campaign(stack: Stack, account: str, campaign: str) -> dict[str, object]:
    response = httpx.get(
        f"{stack.adsim_url}/v1/accounts/{account}/campaigns/{campaign}",
        headers={"Authorization": f"Bearer {ADSIM_READ_TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return dict(response.json())


def api_writes(stack: Stack, campaign: str) -> list[dict[str, object]]:
    """adsim's accepted writes through its API (not out-of-band edits) to one campaign."""
    writes = httpx.get(f"{stack.adsim_url}/_sim/writes", timeout=10).json()["writes"]
    return [w for w in writes if w["source"] == "api" and w["campaign"] == campaign]


async def propose_raise(stack: Stack, campaign: str, *, pct: int = 10) -> tuple[str, int, int]:
    """Draft a small raise (below the four-eyes threshold) through MCP; returns (draft id, before, after)."""
    before = int(str(adsim_campaign(stack, US, campaign)["daily_budget"]))
    after = before + min(before * pct // 100, 40_000)  # cents; stays under second_approver_above
    async with Client(stack.mcp_url, auth=stack.tokens.agent) as client:  # type: ignore[arg-type]
        result = await client.call_tool(
            "propose_budget_change",
            {
                "account_id": US,
                "campaign_id": campaign,
                "new_daily_budget": f"{after // 100}.{after % 100:02d}",
                "reason": "e2e: strong ROAS last week",
            },
        )
    proposal: dict[str, Any] = result.structured_content or {}
    assert proposal["status"] == "pending", proposal
    return str(proposal["draft_id"]), before, after


def wait_for_status(
    stack: Stack, draft_id: str, token: str, wanted: str, *, timeout: float = 30
) -> dict[str, Any]:
    """Poll the approval API until the draft reaches `wanted`; fail early on a terminal miss."""

    def reached() -> dict[str, Any]:
        draft: dict[str, Any] = httpx.get(
            f"{stack.api_url}/v1/drafts/{draft_id}", headers=bearer(token), timeout=10
        ).json()
        if draft["status"] != wanted and draft["status"] in ("apply_failed", "stale", "rejected", "expired"):
            pytest.fail(f"draft {draft_id} is {draft['status']}, not {wanted}\n{stack.log_tails()}")
        assert draft["status"] == wanted, f"draft {draft_id} is {draft['status']}"
        return draft

    try:
        return eventually(reached, timeout=timeout, interval=0.2, what=f"{draft_id} to be {wanted}")
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{stack.log_tails()}")


def spendgate(
    *args: str, env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the `spendgate` CLI once, as a user would."""
    return subprocess.run(
        [spendgate_binary(), *args],
        env={**_clean_environ(), **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _clean_environ() -> dict[str, str]:
    """The test runner's environment without SPENDGATE_* (the developer's shell must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}


def spendgate_binary() -> str:
    """The project's `spendgate` script (the venv's, even when the venv is not on PATH)."""
    return shutil.which("spendgate") or str(Path(sys.executable).parent / "spendgate")
