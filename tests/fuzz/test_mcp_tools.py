"""Every MCP tool, called through a real `fastmcp.Client` against the real gateway, with arguments drawn from
valid values and nasty ones (wrong types, missing and extra fields, huge strings, odd unicode, 1e308, -0,
"NaN", nested objects).

Each call ends in a result or a deliberate tool error that says what was wrong. FastMCP's masked
"Error calling tool" means an exception nobody translated: a bug, whatever the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import anyio
import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastmcp import Client
from hypothesis import given
from hypothesis import strategies as st

from spendgate_core.runtime.settings import load_settings
from spendgate_gateway.app import create_app
from spendgate_gateway.settings import GatewaySettings
from tests.support.servers import serve_in_thread
from tests.support.stack import ADSIM_READ_TOKEN, EU, JP, US, World

from .conftest import FUZZ, Drafts

MASKED = "Error calling tool"

# Values that are wrong for most arguments, or at an edge of what is right.
_WEIRD_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    -0.0,
    0.001,
    1e308,
    -1e308,
    2**63,
    10**40,
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "-0",
    "1e308",
    "1e999999999",  # beyond the decimal context: Overflow in to_minor (a masked error before the fix)
    "1e-999999999",
    "1.000000000000000000000000000001",  # more digits than the decimal context keeps
    "0.005",
    "650.005",
    "1,000.00",
    "١٢٣",  # Arabic-Indic digits
    "²",
    "\x00",
    "\u202eevil",  # right-to-left override
    "drf_" + "0" * 26,
    "drf_01ARZ3NDEKTSV4RRFFQ69G5FAV\n",
    "acc_us_001\n",
    "../acc_us_001",
    "acc_us_001' OR 1=1 --",
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "day",
    "PAUSED",
    "pending",
]
# Lone surrogates cannot even be encoded by the client; the raw-JSON test below sends them.
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
json_scalars = st.one_of(
    st.sampled_from(_WEIRD_SCALARS),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
huge_strings = st.sampled_from(["x" * 100_000, "é" * 30_000, "🙂" * 20_000, "\u0301" * 10_000])

# Plausible values per argument name: real ids, real-looking amounts, dates around the data's range.
_TODAY = date.today()
_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "account_id": st.sampled_from([US, EU, JP, "acc_xx_999"]),
    "campaign_id": st.sampled_from(["cmp_us_001", "cmp_us_002", "cmp_eu_001", "cmp_jp_001", "cmp_zz_1"]),
    "from_campaign_id": st.sampled_from(["cmp_us_001", "cmp_us_003", "cmp_eu_002"]),
    "to_campaign_id": st.sampled_from(["cmp_us_002", "cmp_us_001", "cmp_eu_003"]),
    "entity_id": st.sampled_from(["cmp_us_001", "cmp_eu_001", "cmp_zz_1"]),
    "new_daily_budget": st.sampled_from(["650.00", "1", "0.01", "5000", 12.5, 100, "9999999999"]),
    "expected_current_budget": st.sampled_from(["650.00", "1", 100]),
    "amount": st.sampled_from(["1.00", "10", 0.5, "100000"]),
    "reason": st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=50),
    "new_status": st.sampled_from(["PAUSED", "ENABLED"]),
    "status": st.sampled_from(["pending", "armed", "approved", "applied"]),
    "limit": st.integers(min_value=-5, max_value=300),
    "entity_type": st.just("campaign"),
    "sort_by": st.sampled_from(["id", "name", "status", "daily_budget", "spend_today", "pacing"]),
    "descending": st.booleans(),
    "granularity": st.sampled_from(["day", "total"]),
    "start_date": st.dates(_TODAY - timedelta(days=400), _TODAY + timedelta(days=30)).map(str),
    "end_date": st.dates(_TODAY - timedelta(days=400), _TODAY + timedelta(days=30)).map(str),
    "filters": st.lists(
        st.fixed_dictionaries(
            {
                "field": st.sampled_from(["id", "name", "status", "daily_budget", "spend_today", "pacing"]),
                "op": st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains"]),
                "value": json_scalars,
            }
        ),
        max_size=3,
    ),
}

TOOLS = {
    "list_accounts": [],
    "get_account_snapshot": ["account_id"],
    "query_entities": ["account_id", "entity_type", "filters", "sort_by", "descending", "limit"],
    "get_performance": ["account_id", "start_date", "end_date", "entity_id", "granularity"],
    "list_drafts": ["account_id", "status", "limit"],
    "get_draft": ["draft_id"],
    "get_audit_log": ["account_id", "limit"],
    "propose_budget_change": [
        "account_id",
        "campaign_id",
        "new_daily_budget",
        "reason",
        "expected_current_budget",
    ],
    "propose_budget_shift": ["account_id", "from_campaign_id", "to_campaign_id", "amount", "reason"],
    "propose_status_change": ["account_id", "campaign_id", "new_status", "reason"],
    "withdraw_draft": ["draft_id", "reason"],
}


@st.composite
def arguments(draw: st.DrawFn, names: list[str], draft_ids: list[str]) -> dict[str, Any]:
    """Plausible arguments, then zero to two of them made nasty, huge or left out; rarely an extra one.

    Mostly-valid calls get past argument validation, so the money, date and policy code is fuzzed too.
    """
    plausible = {**_PLAUSIBLE, "draft_id": st.sampled_from([*draft_ids, "drf_" + "Z" * 26])}
    args = {name: draw(plausible[name]) for name in names}
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []:
        how = draw(st.sampled_from(["nasty", "nasty", "huge", "missing"]))
        if how == "missing":
            del args[name]
        else:
            args[name] = draw(json_values if how == "nasty" else huge_strings)
    if draw(st.sampled_from([False] * 9 + [True])):
        args[draw(st.sampled_from(["approve", "status_override", "", "account_id ", "__proto__"]))] = draw(
            json_values
        )
    return args


@pytest.fixture
def gateway_mcp(fuzz_world: World) -> Iterator[str]:
    settings = load_settings(
        GatewaySettings,
        redis_url=fuzz_world.redis_url,
        principals_file=fuzz_world.principals_file,
        policy_file=fuzz_world.policy_file,
        ledger_key_file=fuzz_world.ledger_key_file,
        adsim_url=fuzz_world.adsim_url,
        adsim_read_token=ADSIM_READ_TOKEN,
        public_url="http://console.test",
    )
    with serve_in_thread(create_app(settings)) as url:
        yield f"{url}/mcp"


@contextmanager
def mcp_session(url: str, token: str) -> Iterator[tuple[BlockingPortal, Client[Any]]]:
    """One MCP session kept open across a property's examples (an event loop in a helper thread)."""
    with start_blocking_portal(backend="asyncio") as portal:
        client: Client[Any] = Client(url, auth=token)  # type: ignore[arg-type]
        with portal.wrap_async_context_manager(client):
            yield portal, client


def call_text(
    portal: BlockingPortal, client: Client[Any], tool: str, args: dict[str, Any]
) -> tuple[bool, str]:
    """(is_error, text of the result)."""

    async def call() -> tuple[bool, str]:
        with anyio.fail_after(30):
            result = await client.call_tool(tool, args, raise_on_error=False)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return result.is_error, text

    return portal.call(call)


def test_every_tool_is_fuzzed(gateway_mcp: str, fuzz_world: World) -> None:
    with mcp_session(gateway_mcp, fuzz_world.tokens.agent) as (portal, client):
        tools = portal.call(client.list_tools)
    assert {t.name: sorted(t.input_schema.get("properties", {})) for t in tools} == {
        name: sorted(args) for name, args in TOOLS.items()
    }


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_tool_never_fails_unexpectedly(
    tool: str, gateway_mcp: str, fuzz_world: World, drafts: Drafts
) -> None:
    with mcp_session(gateway_mcp, fuzz_world.tokens.agent) as (portal, client):

        @FUZZ
        @given(args=arguments(TOOLS[tool], [drafts.pending, drafts.other]))
        def check(args: dict[str, Any]) -> None:
            is_error, text = call_text(portal, client, tool, args)
            assert MASKED not in text, (tool, args, text)
            assert "Traceback" not in text, (tool, args, text)
            if is_error:
                assert text.strip(), (tool, args)
            if set(args) - set(TOOLS[tool]):
                assert is_error, ("an undeclared argument was accepted", tool, args, text)

        check()


RAW_CALLS = [
    # Text the Python client cannot even send: lone surrogates, numbers beyond any float, deep nesting.
    ("get_draft", '{"draft_id": "\\ud800"}'),
    (
        "propose_budget_change",
        '{"account_id": "acc_us_001", "campaign_id": "cmp_us_001", '
        '"new_daily_budget": "\\udfff1", "reason": "\\ud800"}',
    ),
    ("list_drafts", '{"limit": 1e999}'),
    ("list_drafts", '{"limit": NaN}'),
    (
        "propose_budget_change",
        '{"account_id": "acc_us_001", "campaign_id": "cmp_us_001", '
        '"new_daily_budget": ' + "9" * 5000 + ', "reason": "x"}',
    ),
    ("query_entities", '{"account_id": "acc_us_001", "filters": ' + "[" * 5000 + "]" * 5000 + "}"),
    (
        "query_entities",
        '{"account_id": "acc_us_001", "filters": [{"field": "spend_today", "op": "lt", '
        '"value": "1e999999999"}]}',
    ),
]


def test_raw_arguments_never_fail_unexpectedly(gateway_mcp: str, fuzz_world: World) -> None:
    headers = {
        "Authorization": f"Bearer {fuzz_world.tokens.agent}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2025-11-25",
    }
    for tool, arguments_json in RAW_CALLS:
        params = f'{{"name": "{tool}", "arguments": {arguments_json}}}'
        body = f'{{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {params}}}'
        response = httpx.post(gateway_mcp, content=body.encode(), headers=headers, timeout=30)
        what = (tool, arguments_json[:100], response.status_code, response.text[:500])
        # A JSON-RPC parse error (HTTP 400) or a tool error in a 200: never a 5xx, never a masked error.
        assert response.status_code in (200, 400), what
        assert MASKED not in response.text and "Traceback" not in response.text, what
        if response.status_code == 200:
            assert '"isError":true' in response.text, what
