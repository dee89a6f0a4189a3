"""Wrong input and foreign ids: always a tool error that says what to fix, never a masked failure."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.integration.gateway.conftest import call, live_campaigns, tool_error
from tests.support.stack import EU, JP, US, World

pytestmark = pytest.mark.anyio

MASKED = "Error calling tool"
UNKNOWN_DRAFT = "drf_01JD5Z0000000000000000000Z"


def change(**overrides: Any) -> dict[str, Any]:
    return {
        "account_id": US,
        "campaign_id": "cmp_us_001",
        "new_daily_budget": "700.00",
        "reason": "test",
        **overrides,
    }


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (change(new_daily_budget=-5), "new_daily_budget: Input should be greater than 0"),
        (change(new_daily_budget="-5.00"), "new_daily_budget: Input should be greater than 0"),
        (change(new_daily_budget=0), "new_daily_budget: Input should be greater than 0"),
        (change(new_daily_budget="0.00"), "new_daily_budget: Input should be greater than 0"),
        (change(new_daily_budget="NaN"), "new_daily_budget: Input should be a finite number"),
        (change(new_daily_budget="Infinity"), "new_daily_budget: Input should be a finite number"),
        (change(new_daily_budget="-Infinity"), "new_daily_budget: Input should be a finite number"),
        (change(new_daily_budget=1e30), "new_daily_budget: Input should be less than or equal to 1000000000"),
        (
            change(new_daily_budget="1e30"),
            "new_daily_budget: Input should be less than or equal to 1000000000",
        ),
        (change(new_daily_budget="12.345"), "USD amounts take at most 2 decimal places; got 12.345"),
        (change(new_daily_budget=12.345), "USD amounts take at most 2 decimal places; got 12.345"),
        (change(new_daily_budget=0.1 + 0.2), "USD amounts take at most 2 decimal places"),
        (
            change(account_id=JP, campaign_id="cmp_jp_001", new_daily_budget="100.5"),
            "JPY amounts take no decimals; got 100.5",
        ),
        (
            change(account_id=JP, campaign_id="cmp_jp_001", new_daily_budget=5000.5),
            "JPY amounts take no decimals; got 5000.5",
        ),
        (change(new_daily_budget="seven hundred"), "new_daily_budget: Input should be a valid decimal"),
        (change(new_daily_budget=True), "new_daily_budget:"),
        (change(new_daily_budget=None), "new_daily_budget:"),
        (change(new_daily_budget=["700"]), "new_daily_budget:"),
        (change(expected_current_budget="abc"), "expected_current_budget: Input should be a valid decimal"),
        (change(account_id=123), "account_id: Input should be a valid string"),
        (change(account_id="acc us 001"), "account_id: String should match pattern"),
        (change(account_id="a" * 65), "account_id: String should match pattern"),
        (change(campaign_id="../etc/passwd"), "campaign_id: String should match pattern"),
        (change(reason=""), "reason: String should have at least 1 character"),
        (change(reason="   "), "reason: String should match pattern"),
        (change(reason="x" * 100_000), "reason: String should have at most 2000 characters"),
        (change(reason=42), "reason: Input should be a valid string"),
        (
            {"account_id": US, "campaign_id": "cmp_us_001", "new_daily_budget": "700.00"},
            "reason: this argument is required",
        ),
        (
            {"account_id": US, "new_daily_budget": "700.00", "reason": "r"},
            "campaign_id: this argument is required",
        ),
        (change(amount="5.00"), "amount: there is no such argument"),
    ],
)
async def test_bad_budget_change_arguments(
    shared: tuple[World, str], arguments: dict[str, Any], expected: str
) -> None:
    world, mcp_url = shared
    message = await tool_error(mcp_url, world.tokens.agent, "propose_budget_change", arguments)
    assert expected in message, message
    assert MASKED not in message
    assert len(message) < 1000  # a 100 kB argument is not echoed back
    assert "pydantic" not in message and "Traceback" not in message


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "propose_budget_shift",
            {
                "account_id": US,
                "from_campaign_id": "cmp_us_001",
                "to_campaign_id": "cmp_us_002",
                "amount": "-1",
                "reason": "r",
            },
            "amount: Input should be greater than 0",
        ),
        (
            "propose_budget_shift",
            {
                "account_id": US,
                "from_campaign_id": "cmp_us_001",
                "to_campaign_id": "cmp_us_002",
                "amount": "0.001",
                "reason": "r",
            },
            "USD amounts take at most 2 decimal places",
        ),
        (
            "propose_status_change",
            {"account_id": US, "campaign_id": "cmp_us_001", "new_status": "DELETED", "reason": "r"},
            "new_status: Input should be 'PAUSED' or 'ENABLED'",
        ),
        (
            "propose_status_change",
            {"account_id": US, "campaign_id": "cmp_us_001", "new_status": "paused", "reason": "r"},
            "new_status: Input should be 'PAUSED' or 'ENABLED'",
        ),
        ("get_draft", {"draft_id": UNKNOWN_DRAFT}, f"Not found: no draft {UNKNOWN_DRAFT}"),
        ("get_draft", {"draft_id": "drf_123"}, "draft_id: String should match pattern"),
        (
            "withdraw_draft",
            {"draft_id": UNKNOWN_DRAFT, "reason": "r"},
            f"Not found: no draft {UNKNOWN_DRAFT}",
        ),
        ("list_drafts", {"limit": 0}, "limit: Input should be greater than or equal to 1"),
        ("list_drafts", {"limit": 201}, "limit: Input should be less than or equal to 200"),
        ("list_drafts", {"limit": "10"}, "limit: Input should be a valid integer"),
        ("list_drafts", {"status": "done"}, "status: Input should be 'pending', 'armed'"),
        (
            "query_entities",
            {"account_id": US, "entity_type": "ad_group"},
            "entity_type: Input should be 'campaign'",
        ),
        (
            "query_entities",
            {"account_id": US, "descending": "yes"},
            "descending: Input should be a valid boolean",
        ),
        (
            "query_entities",
            {"account_id": US, "filters": "status=PAUSED"},
            "filters: Input should be a valid",
        ),
        (
            "get_audit_log",
            {"account_id": US, "limit": 10_000},
            "limit: Input should be less than or equal to 200",
        ),
        ("get_account_snapshot", {}, "account_id: this argument is required"),
    ],
)
async def test_bad_arguments_everywhere(
    shared: tuple[World, str], tool: str, arguments: dict[str, Any], expected: str
) -> None:
    world, mcp_url = shared
    message = await tool_error(mcp_url, world.tokens.agent, tool, arguments)
    assert expected in message, message
    assert MASKED not in message


async def test_no_silent_change_when_the_amount_is_refused(world: World, mcp_url: str) -> None:
    for amount in ("-5", "NaN", "12.345", 1e30):
        await tool_error(
            mcp_url, world.tokens.agent, "propose_budget_change", change(new_daily_budget=amount)
        )
    assert (await call(mcp_url, world.tokens.agent, "list_drafts", {}))["drafts"] == []


# account isolation: a foreign id behaves exactly like an unknown one ----------------------------------------
FOREIGN, UNKNOWN = US, "acc_zz_999"


def isolation_calls(account: str) -> list[tuple[str, dict[str, Any]]]:
    campaign = "cmp_us_001"
    return [
        ("get_account_snapshot", {"account_id": account}),
        ("query_entities", {"account_id": account}),
        ("get_performance", {"account_id": account, "start_date": "2025-01-01", "end_date": "2025-01-02"}),
        ("list_drafts", {"account_id": account}),
        ("get_audit_log", {"account_id": account}),
        (
            "propose_budget_change",
            {"account_id": account, "campaign_id": campaign, "new_daily_budget": "700.00", "reason": "r"},
        ),
        (
            "propose_budget_shift",
            {
                "account_id": account,
                "from_campaign_id": campaign,
                "to_campaign_id": "cmp_us_002",
                "amount": "1.00",
                "reason": "r",
            },
        ),
        (
            "propose_status_change",
            {"account_id": account, "campaign_id": campaign, "new_status": "PAUSED", "reason": "r"},
        ),
    ]


@pytest.mark.parametrize("index", range(8))
async def test_a_foreign_account_is_indistinguishable_from_an_unknown_one(
    world: World, mcp_url: str, index: int
) -> None:
    tool, foreign_args = isolation_calls(FOREIGN)[index]
    _, unknown_args = isolation_calls(UNKNOWN)[index]
    foreign = await tool_error(mcp_url, world.tokens.eu_agent, tool, foreign_args)
    unknown = await tool_error(mcp_url, world.tokens.eu_agent, tool, unknown_args)
    assert foreign.replace(FOREIGN, "<id>") == unknown.replace(UNKNOWN, "<id>")
    assert (
        foreign == f"Not found: unknown account '{FOREIGN}'; call list_accounts to see the ids you can use."
    )


async def test_a_foreign_draft_is_indistinguishable_from_an_unknown_one(world: World, mcp_url: str) -> None:
    budget = int(live_campaigns(world, US)["cmp_us_010"]["daily_budget"])
    proposal = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        change(
            campaign_id="cmp_us_010",
            new_daily_budget=f"{(budget + 100) / 100:.2f}",
        ),
    )
    foreign_id = proposal["draft_id"]
    for tool, extra in (("get_draft", {}), ("withdraw_draft", {"reason": "r"})):
        foreign = await tool_error(mcp_url, world.tokens.eu_agent, tool, {"draft_id": foreign_id, **extra})
        unknown = await tool_error(mcp_url, world.tokens.eu_agent, tool, {"draft_id": UNKNOWN_DRAFT, **extra})
        assert (
            re.sub(r"drf_\w+", "<id>", foreign)
            == re.sub(r"drf_\w+", "<id>", unknown)
            == "Not found: no draft <id>."
        )
    listed = await call(mcp_url, world.tokens.eu_agent, "list_drafts", {"status": "pending"})
    assert listed["drafts"] == []


async def test_unknown_campaign_in_a_visible_account(world: World, mcp_url: str) -> None:
    message = await tool_error(
        mcp_url,
        world.tokens.eu_agent,
        "propose_budget_change",
        change(
            account_id=EU,
            campaign_id="cmp_us_001",
        ),
    )
    assert message == (
        "Not found: unknown campaign 'cmp_us_001' in account acc_eu_002; "
        "use query_entities to find campaign ids."
    )
