"""Draft tools: each stages a pending draft in Redis with `before` read live, or refuses naming the rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import redis

from spendgate_core.adapters.store import RedisDraftStore
from spendgate_core.domain.models import CampaignStatus, Draft, DraftStatus
from spendgate_gateway.app import create_app
from tests.integration.gateway.conftest import (
    CONSOLE,
    call,
    gateway_settings,
    live_campaigns,
    set_out_of_band,
    tool_error,
)
from tests.support.servers import serve_in_thread
from tests.support.stack import EU, JP, KEYS, US, World

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


def stored(world: World, draft_id: str) -> Draft:
    with redis.Redis.from_url(world.redis_url) as client:
        return RedisDraftStore(client, keys=KEYS).get(draft_id)


def budget(world: World, account_id: str, campaign_id: str) -> int:
    return int(live_campaigns(world, account_id)[campaign_id]["daily_budget"])


def major(minor: int, places: int = 2) -> str:
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def enabled(world: World, account_id: str) -> list[str]:
    return sorted(c for c, v in live_campaigns(world, account_id).items() if v["status"] == "ENABLED")


@pytest.mark.parametrize("mode", MODES)
async def test_propose_budget_change_stages_a_pending_draft(world: World, mcp_url: str, mode: str) -> None:
    before = budget(world, US, "cmp_us_001")
    after = before + 1_234
    proposal = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_001",
            "new_daily_budget": major(after),
            "reason": "strong ROAS this week",
            "expected_current_budget": major(before),
        },
        mode=mode,
    )
    draft_id = proposal["draft_id"]
    assert proposal["status"] == "pending" and proposal["kind"] == "budget_change"
    assert proposal["changes"] == [
        {
            "entity_type": "campaign",
            "entity_id": "cmp_us_001",
            "field": "daily_budget",
            "before": major(before),
            "after": major(after),
            "delta": "12.34",
        }
    ]
    assert proposal["impact"] == {"daily_budget_delta": "12.34", "currency": "USD"}
    assert proposal["approvals_needed"] == 1
    assert proposal["console_url"] == f"{CONSOLE}/console/drafts/{draft_id}"
    assert proposal["console_url"] in proposal["next_step"] and "Nothing has changed" in proposal["next_step"]
    draft = stored(world, draft_id)
    assert draft.status is DraftStatus.PENDING and draft.proposed_by.name == "claude"
    assert draft.changes[0].before == before and draft.changes[0].after == after
    assert draft.expires_at.isoformat() == proposal["expires_at"]
    assert budget(world, US, "cmp_us_001") == before  # nothing touched the platform


async def test_a_json_number_is_money_too(world: World, mcp_url: str) -> None:
    before = budget(world, US, "cmp_us_003")
    after = before + 50  # + 0.50 USD
    proposal = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_003",
            "new_daily_budget": float(major(after)),
            "reason": "r",
        },
    )
    assert stored(world, proposal["draft_id"]).changes[0].after == after


async def test_big_increase_needs_two_humans(world: World, mcp_url: str) -> None:
    campaign = max(enabled(world, US), key=lambda c: budget(world, US, c))
    before = budget(world, US, campaign)
    assert before >= 150_000  # the seed has large campaigns; +600.00 stays under max_change_pct
    small = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": campaign,
            "new_daily_budget": major(before + 50_000),
            "reason": "scale",
        },
    )
    assert small["approvals_needed"] == 1  # exactly second_approver_above (500.00) is not above it
    await call(
        mcp_url, world.tokens.agent, "withdraw_draft", {"draft_id": small["draft_id"], "reason": "bigger"}
    )
    big = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": campaign,
            "new_daily_budget": major(before + 60_000),
            "reason": "scale",
        },
    )
    assert big["approvals_needed"] == 2
    assert "2 different humans" in big["next_step"]


async def test_before_is_read_live_even_when_reads_are_cached(world: World) -> None:
    with serve_in_thread(create_app(gateway_settings(world, gateway_cache_ttl_seconds=60))) as base:
        url = f"{base}/mcp"
        first = await call(url, world.tokens.agent, "get_account_snapshot", {"account_id": US})
        cached_budget = next(c for c in first["campaigns"] if c["id"] == "cmp_us_004")["daily_budget"]
        set_out_of_band(world, US, "cmp_us_004", daily_budget=12_300)
        second = await call(url, world.tokens.agent, "get_account_snapshot", {"account_id": US})
        assert (
            next(c for c in second["campaigns"] if c["id"] == "cmp_us_004")["daily_budget"] == cached_budget
        )
        proposal = await call(
            url,
            world.tokens.agent,
            "propose_budget_change",
            {
                "account_id": US,
                "campaign_id": "cmp_us_004",
                "new_daily_budget": "130.00",
                "reason": "r",
            },
        )
        assert proposal["changes"][0]["before"] == "123.00"
        assert stored(world, proposal["draft_id"]).changes[0].before == 12_300


@pytest.mark.parametrize("mode", MODES)
async def test_propose_budget_shift_is_one_net_zero_draft(world: World, mcp_url: str, mode: str) -> None:
    source, target = "cmp_eu_001", "cmp_eu_002"
    source_before, target_before = budget(world, EU, source), budget(world, EU, target)
    moved = min(source_before, target_before) // 10 // 100 * 100 or 100
    proposal = await call(
        mcp_url,
        world.tokens.eu_agent,
        "propose_budget_shift",
        {
            "account_id": EU,
            "from_campaign_id": source,
            "to_campaign_id": target,
            "amount": major(moved),
            "reason": "move budget to the better campaign",
        },
        mode=mode,
    )
    assert proposal["kind"] == "budget_shift" and proposal["status"] == "pending"
    assert proposal["impact"] == {"daily_budget_delta": "0.00", "currency": "EUR"}
    draft = stored(world, proposal["draft_id"])
    assert [(c.entity_id, c.before, c.after) for c in draft.changes] == [
        (source, source_before, source_before - moved),
        (target, target_before, target_before + moved),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_propose_status_change_and_withdraw(world: World, mcp_url: str, mode: str) -> None:
    campaign = enabled(world, JP)[0]
    proposal = await call(
        mcp_url,
        world.tokens.agent,
        "propose_status_change",
        {
            "account_id": JP,
            "campaign_id": campaign,
            "new_status": "PAUSED",
            "reason": "weak results",
        },
        mode=mode,
    )
    assert proposal["changes"][0] | {"delta": None} == {
        "entity_type": "campaign",
        "entity_id": campaign,
        "field": "status",
        "before": "ENABLED",
        "after": "PAUSED",
        "delta": None,
    }
    assert proposal["impact"]["currency"] == "JPY" and proposal["impact"]["daily_budget_delta"].startswith(
        "-"
    )
    draft = stored(world, proposal["draft_id"])
    assert draft.changes[0].before == CampaignStatus.ENABLED.value

    other = await tool_error(
        mcp_url,
        world.tokens.reader,
        "withdraw_draft",
        {
            "draft_id": proposal["draft_id"],
            "reason": "not mine",
        },
        mode=mode,
    )
    assert "Unknown tool" in other
    withdrawn = await call(
        mcp_url,
        world.tokens.agent,
        "withdraw_draft",
        {
            "draft_id": proposal["draft_id"],
            "reason": "changed my mind",
        },
        mode=mode,
    )
    assert withdrawn["status"] == "withdrawn" and withdrawn["decision_reason"] == "changed my mind"
    assert stored(world, proposal["draft_id"]).status is DraftStatus.WITHDRAWN
    again = await tool_error(
        mcp_url,
        world.tokens.agent,
        "withdraw_draft",
        {
            "draft_id": proposal["draft_id"],
            "reason": "twice",
        },
        mode=mode,
    )
    assert "is withdrawn; it can no longer be withdrawn" in again


async def test_only_the_proposer_may_withdraw(world: World, mcp_url: str) -> None:
    proposal = await call(
        mcp_url,
        world.tokens.eu_agent,
        "propose_status_change",
        {
            "account_id": EU,
            "campaign_id": enabled(world, EU)[0],
            "new_status": "PAUSED",
            "reason": "r",
        },
    )
    message = await tool_error(
        mcp_url,
        world.tokens.agent,
        "withdraw_draft",
        {
            "draft_id": proposal["draft_id"],
            "reason": "mine now",
        },
    )
    assert message.startswith("Not allowed: only the principal who proposed a draft may withdraw it")


async def test_expected_current_budget_mismatch_is_refused(world: World, mcp_url: str) -> None:
    before = budget(world, US, "cmp_us_005")
    message = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_005",
            "new_daily_budget": major(before + 100),
            "reason": "r",
            "expected_current_budget": major(before + 1),
        },
    )
    assert message.startswith("expected_current_budget: cmp_us_005 has ")
    assert f"{major(before)} USD live, not {major(before + 1)} USD" in message
    assert "re-read it and propose again" in message


async def test_a_second_draft_on_the_same_field_is_refused(world: World, mcp_url: str) -> None:
    before = budget(world, US, "cmp_us_006")
    first = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_006",
            "new_daily_budget": major(before + 100),
            "reason": "r",
        },
    )
    message = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_006",
            "new_daily_budget": major(before + 200),
            "reason": "r",
        },
    )
    assert message.startswith(
        f"duplicate_draft: draft {first['draft_id']} already changes daily_budget of cmp_us_006"
    )
    shift = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_shift",
        {
            "account_id": US,
            "from_campaign_id": "cmp_us_006",
            "to_campaign_id": "cmp_us_007",
            "amount": "1.00",
            "reason": "r",
        },
    )
    assert shift.startswith("duplicate_draft:")


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda b: b * 2, "max_change_pct: +100% on cmp_us_008 exceeds 50%"),
        (lambda b: 1_100_000, "max_daily_budget: 11000.00 USD for cmp_us_008 exceeds 10000.00 USD"),
    ],
)
async def test_policy_refusals_name_the_rule(world: World, mcp_url: str, change: Any, rule: str) -> None:
    before = budget(world, US, "cmp_us_008")
    message = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_008",
            "new_daily_budget": major(change(before)),
            "reason": "r",
        },
    )
    assert message.startswith(rule), message
    assert "policy limit" in message


async def test_unchanged_values_are_refused(world: World, mcp_url: str) -> None:
    before = budget(world, US, "cmp_us_009")
    same = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_009",
            "new_daily_budget": major(before),
            "reason": "r",
        },
    )
    assert "already has a daily budget of" in same
    paused = next(c for c, v in live_campaigns(world, US).items() if v["status"] == "PAUSED")
    status = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_status_change",
        {
            "account_id": US,
            "campaign_id": paused,
            "new_status": "PAUSED",
            "reason": "r",
        },
    )
    assert f"{paused} is already PAUSED" in status
    shift = await tool_error(
        mcp_url,
        world.tokens.agent,
        "propose_budget_shift",
        {
            "account_id": US,
            "from_campaign_id": "cmp_us_009",
            "to_campaign_id": "cmp_us_009",
            "amount": "1",
            "reason": "r",
        },
    )
    assert "must be different campaigns" in shift
