"""Every read tool over real HTTP against real adsim and Redis, in both protocol eras, with the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastmcp import Client

from tests.integration.gateway.conftest import (
    CONSOLE,
    adsim_get,
    call,
    live_campaigns,
    read_entries,
    tool_error,
)
from tests.support.stack import EU, JP, US, World

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]


def cents(amount: str) -> int:
    """A USD/EUR decimal string as minor units, exactly."""
    value = Decimal(amount)
    assert value == value.quantize(Decimal("0.01")), amount
    return int(value * 100)


@pytest.mark.parametrize("mode", MODES)
async def test_list_accounts_shows_only_visible_accounts(world: World, mcp_url: str, mode: str) -> None:
    everything = await call(mcp_url, world.tokens.agent, "list_accounts", {}, mode=mode)
    assert [a["id"] for a in everything["accounts"]] == [US, EU, JP]
    assert everything["accounts"][2] == {
        "id": JP,
        "name": "Northwind Outfitters Japan",
        "platform": "adsim",
        "currency": "JPY",
        "timezone": "Asia/Tokyo",
        "status": "ACTIVE",
    }
    only_eu = await call(mcp_url, world.tokens.eu_agent, "list_accounts", {}, mode=mode)
    assert [a["id"] for a in only_eu["accounts"]] == [EU]


@pytest.mark.parametrize("mode", MODES)
async def test_snapshot_matches_the_platform(world: World, mcp_url: str, mode: str) -> None:
    snap = await call(mcp_url, world.tokens.agent, "get_account_snapshot", {"account_id": US}, mode=mode)
    live = live_campaigns(world, US)
    assert snap["account"]["id"] == US and snap["currency"] == "USD"
    assert [c["id"] for c in snap["campaigns"]] == sorted(live)
    for row in snap["campaigns"]:
        platform = live[row["id"]]
        assert row["status"] == platform["status"]
        assert cents(row["daily_budget"]) == platform["daily_budget"]
        if row["status"] == "PAUSED":
            assert row["pacing"] is None and row["spend_today"] == "0.00"
        else:
            assert cents(row["spend_today"]) <= platform["spend_today"] + platform["daily_budget"] // 100
    assert cents(snap["spend_today"]) == sum(cents(c["spend_today"]) for c in snap["campaigns"])
    now = datetime.now(UTC)
    if now.hour >= 1:  # pacing means something once part of the day has gone by; adsim paces at 0.6..1.15
        paces = [Decimal(c["pacing"]) for c in snap["campaigns"] if c["pacing"] is not None]
        assert paces and all(Decimal("0.55") <= p <= Decimal("1.20") for p in paces)
    today = datetime.fromisoformat(snap["as_of"]).date()  # the snapshot's own day, even across midnight
    earlier = 0
    if today.day > 1:
        rows = adsim_get(
            world,
            f"/v1/accounts/{US}/insights",
            since=today.replace(day=1).isoformat(),
            until=(today - timedelta(days=1)).isoformat(),
            granularity="total",
        )["rows"]
        earlier = sum(r["spend"] for r in rows)
    assert cents(snap["spend_month_to_date"]) == earlier + cents(snap["spend_today"])
    assert snap["envelope"] == {"limit_24h": "2000.00", "used": "0.00", "left": "2000.00"}
    assert snap["pending_drafts"] == 0 and snap["max_pending_drafts"] == 25


async def test_snapshot_of_a_zero_decimal_currency(world: World, mcp_url: str) -> None:
    snap = await call(mcp_url, world.tokens.agent, "get_account_snapshot", {"account_id": JP})
    assert snap["currency"] == "JPY"
    assert snap["envelope"] == {"limit_24h": "300000", "used": "0", "left": "300000"}
    live = live_campaigns(world, JP)
    for row in snap["campaigns"]:
        assert "." not in row["daily_budget"] and int(row["daily_budget"]) == live[row["id"]]["daily_budget"]


async def test_snapshot_counts_pending_drafts(world: World, mcp_url: str) -> None:
    budget = Decimal(live_campaigns(world, US)["cmp_us_001"]["daily_budget"]) / 100
    await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_001",
            "new_daily_budget": str(budget - 1),
            "reason": "trim",
        },
    )
    snap = await call(mcp_url, world.tokens.agent, "get_account_snapshot", {"account_id": US})
    assert snap["pending_drafts"] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_query_entities_filters_sorts_and_limits(world: World, mcp_url: str, mode: str) -> None:
    live = live_campaigns(world, US)
    page = await call(
        mcp_url,
        world.tokens.agent,
        "query_entities",
        {
            "account_id": US,
            "entity_type": "campaign",
            "filters": [
                {"field": "status", "op": "eq", "value": "ENABLED"},
                {"field": "daily_budget", "op": "gte", "value": "500.00"},
            ],
            "sort_by": "daily_budget",
            "descending": True,
            "limit": 3,
        },
        mode=mode,
    )
    expected = sorted(
        (c for c in live.values() if c["status"] == "ENABLED" and c["daily_budget"] >= 50_000),
        key=lambda c: -c["daily_budget"],
    )
    assert page["total_matches"] == len(expected) > 3
    assert [cents(e["daily_budget"]) for e in page["entities"]] == [c["daily_budget"] for c in expected[:3]]
    assert page["currency"] == "USD" and page["entity_type"] == "campaign"

    numeric = await call(
        mcp_url,
        world.tokens.agent,
        "query_entities",
        {
            "account_id": US,
            "filters": [{"field": "daily_budget", "op": "lt", "value": 100}],
        },
        mode=mode,
    )
    assert numeric["total_matches"] == sum(1 for c in live.values() if c["daily_budget"] < 10_000)

    word = next(iter(live.values()))["name"].split(" | ")[1]
    named = await call(
        mcp_url,
        world.tokens.agent,
        "query_entities",
        {
            "account_id": US,
            "filters": [{"field": "name", "op": "contains", "value": word.upper()}],
            "limit": 200,
        },
        mode=mode,
    )
    assert named["total_matches"] == sum(1 for c in live.values() if word in c["name"])
    assert all(word in e["name"] for e in named["entities"])

    paused = await call(
        mcp_url,
        world.tokens.agent,
        "query_entities",
        {
            "account_id": US,
            "filters": [{"field": "status", "op": "ne", "value": "ENABLED"}],
            "sort_by": "pacing",
        },
        mode=mode,
    )
    assert {e["status"] for e in paused["entities"]} == {"PAUSED"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            [{"field": "budget", "op": "eq", "value": "1"}],
            "'id', 'name', 'status', 'daily_budget', 'spend_today'",
        ),
        (
            [{"field": "name", "op": "like", "value": "x"}],
            "'eq', 'ne', 'gt', 'gte', 'lt', 'lte' or 'contains'",
        ),
        (
            [{"field": "daily_budget", "op": "contains", "value": "5"}],
            "contains works on id, name and status",
        ),
        ([{"field": "name", "op": "eq", "value": 5}], "needs a string value"),
        ([{"field": "daily_budget", "op": "gt", "value": "12.345"}], "at most 2 decimal places"),
        ([{"field": "pacing", "op": "gt", "value": "fast"}], "not a number such as 0.8"),
        ([{"field": "name", "op": "eq"}], "filters.0.value: this argument is required"),
    ],
)
async def test_query_entities_explains_bad_filters(
    shared: tuple[World, str], filters: list[dict[str, Any]], expected: str
) -> None:
    world, mcp_url = shared
    message = await tool_error(
        mcp_url, world.tokens.agent, "query_entities", {"account_id": US, "filters": filters}
    )
    assert expected in message, message


@pytest.mark.parametrize("mode", MODES)
async def test_get_performance_rows_and_ratios(world: World, mcp_url: str, mode: str) -> None:
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=6)
    daily = await call(
        mcp_url,
        world.tokens.agent,
        "get_performance",
        {
            "account_id": US,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        },
        mode=mode,
    )
    raw = adsim_get(world, f"/v1/accounts/{US}/insights", since=start.isoformat(), until=end.isoformat())[
        "rows"
    ]
    assert daily["granularity"] == "day" and daily["currency"] == "USD"
    assert [r["date"] for r in daily["rows"]] == [(start + timedelta(days=i)).isoformat() for i in range(7)]
    for row, platform in zip(daily["rows"], raw, strict=True):
        assert row["impressions"] == platform["impressions"] and row["clicks"] == platform["clicks"]
        assert cents(row["spend"]) == platform["spend"]
        assert cents(row["conversion_value"]) == platform["conversion_value"]
        assert Decimal(row["ctr"]) == (Decimal(platform["clicks"]) / platform["impressions"]).quantize(
            Decimal("0.0001")
        )
        assert Decimal(row["cpc"]) == (Decimal(platform["spend"]) / platform["clicks"] / 100).quantize(
            Decimal("0.01")
        )
        assert Decimal(row["cpa"]) == (Decimal(platform["spend"]) / platform["conversions"] / 100).quantize(
            Decimal("0.01")
        )
        assert Decimal(row["roas"]) == (Decimal(platform["conversion_value"]) / platform["spend"]).quantize(
            Decimal("0.01")
        )

    total = await call(
        mcp_url,
        world.tokens.agent,
        "get_performance",
        {
            "account_id": US,
            "entity_id": "cmp_us_001",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "granularity": "total",
        },
        mode=mode,
    )
    assert total["entity_id"] == "cmp_us_001" and len(total["rows"]) == 1 and total["rows"][0]["date"] is None


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"start_date": "2025-03-10", "end_date": "2025-03-01"},
            "start_date 2025-03-10 is after end_date 2025-03-01",
        ),
        ({"start_date": "2024-01-01", "end_date": "2025-06-01"}, "more than 366 days"),
        ({"start_date": "2025-02-30", "end_date": "2025-03-01"}, "start_date:"),
        ({"start_date": "yesterday", "end_date": "2025-03-01"}, "start_date:"),
        ({"start_date": "2025-03-01", "end_date": "2025-03-02", "granularity": "week"}, "'day' or 'total'"),
        (
            {"start_date": "2025-03-01", "end_date": "2025-03-02", "entity_id": "cmp_nope"},
            "unknown campaign 'cmp_nope'",
        ),
    ],
)
async def test_get_performance_explains_bad_ranges(
    shared: tuple[World, str], arguments: dict[str, Any], expected: str
) -> None:
    world, mcp_url = shared
    message = await tool_error(
        mcp_url, world.tokens.agent, "get_performance", {"account_id": US, **arguments}
    )
    assert expected in message, message


@pytest.mark.parametrize("mode", MODES)
async def test_drafts_and_audit_log_reads(world: World, mcp_url: str, mode: str) -> None:
    budget = Decimal(live_campaigns(world, US)["cmp_us_002"]["daily_budget"]) / 100
    proposal = await call(
        mcp_url,
        world.tokens.agent,
        "propose_budget_change",
        {
            "account_id": US,
            "campaign_id": "cmp_us_002",
            "new_daily_budget": str(budget + 1),
            "reason": "more reach",
        },
        mode=mode,
    )
    draft_id = proposal["draft_id"]

    listed = await call(mcp_url, world.tokens.agent, "list_drafts", {}, mode=mode)
    assert [d["id"] for d in listed["drafts"]] == [draft_id]
    by_account = await call(
        mcp_url, world.tokens.agent, "list_drafts", {"account_id": US, "status": "pending"}, mode=mode
    )
    assert [d["id"] for d in by_account["drafts"]] == [draft_id]
    assert (await call(mcp_url, world.tokens.agent, "list_drafts", {"status": "applied"}, mode=mode))[
        "drafts"
    ] == []
    assert (await call(mcp_url, world.tokens.eu_agent, "list_drafts", {}, mode=mode))["drafts"] == []

    draft = await call(mcp_url, world.tokens.agent, "get_draft", {"draft_id": draft_id}, mode=mode)
    assert draft["status"] == "pending" and draft["reason"] == "more reach"
    assert (
        draft["changes"][0]["before"] == f"{budget:.2f}"
        and draft["changes"][0]["after"] == f"{budget + 1:.2f}"
    )
    assert draft["proposed_by"] == {"name": "claude", "kind": "agent"}
    assert draft["url"] == f"{CONSOLE}/console/drafts/{draft_id}"

    audit = await call(
        mcp_url, world.tokens.reader, "get_audit_log", {"account_id": US, "limit": 10}, mode=mode
    )
    actions = [(e["action"], e["actor"]) for e in audit["entries"]]
    assert ("draft", "claude") in actions
    assert audit["entries"] == sorted(audit["entries"], key=lambda e: -e["seq"])
    drafted = next(e for e in audit["entries"] if e["action"] == "draft")
    assert drafted["draft_id"] == draft_id and drafted["details"]["reason"] == "more reach"


async def test_every_answered_read_call_is_ledgered_once(world: World, mcp_url: str) -> None:
    today = date.today()
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_accounts", {}),
        ("get_account_snapshot", {"account_id": US}),
        (
            "query_entities",
            {"account_id": EU, "filters": [{"field": "status", "op": "eq", "value": "PAUSED"}]},
        ),
        (
            "get_performance",
            {
                "account_id": JP,
                "start_date": (today - timedelta(days=3)).isoformat(),
                "end_date": (today - timedelta(days=1)).isoformat(),
            },
        ),
        ("list_drafts", {"limit": 5}),
        ("get_audit_log", {"account_id": US}),
        ("get_account_snapshot", {"account_id": US}),
    ]
    async with Client(mcp_url, auth=world.tokens.reader) as client:
        for tool, arguments in calls:
            await client.call_tool(tool, arguments)
    entries = read_entries(world)
    assert [e.details["tool"] for e in entries] == [tool for tool, _ in calls]
    assert {e.actor for e in entries} == {"readonly-bot"}
    assert [e.account_id for e in entries] == [None, US, EU, JP, None, US, US]
    assert entries[2].details["filters"] == [{"field": "status", "op": "eq", "value": "PAUSED"}]
    assert entries[4].details == {"tool": "list_drafts", "limit": 5}
