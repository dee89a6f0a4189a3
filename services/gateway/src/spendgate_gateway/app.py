"""Wire the gateway once: settings → adapters → the FastMCP server → the ASGI app served on `/mcp`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastmcp import FastMCP
from fastmcp.server.http import StarletteWithLifespan

from spendgate_core.adapters.ledger import AsyncLedgerAppender
from spendgate_core.adapters.platforms.live import LiveAdsimReader
from spendgate_core.adapters.store import AsyncDraftStore, RedisDraftStore
from spendgate_core.domain.clock import Clock, SystemClock
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.runtime.bootstrap import (
    async_redis_client,
    build_core,
    redis_client,
    redis_keys,
    redis_ledger,
)
from spendgate_core.usecases.deps import AccountCatalog
from spendgate_core.usecases.drafting import DraftIO
from spendgate_gateway.audit import LedgerBatcher
from spendgate_gateway.auth import PrincipalTokenVerifier
from spendgate_gateway.cache import CachedReader
from spendgate_gateway.deps import GatewayDeps
from spendgate_gateway.middleware import ToolCallMiddleware
from spendgate_gateway.routes import register_ops_routes
from spendgate_gateway.settings import GatewaySettings
from spendgate_gateway.tools_draft import DRAFT_TOOLS, register_draft_tools
from spendgate_gateway.tools_read import READ_TOOLS, register_read_tools

MCP_PATH = "/mcp"

INSTRUCTIONS = """\
spendgate lets you read ad accounts and draft spend changes. You cannot approve, apply or roll back
anything: every draft waits until signed-in humans arm and confirm it in the spendgate console.

Read tools: list_accounts, get_account_snapshot (spend, campaigns, pacing, the 24h budget-increase
envelope, pending drafts), query_entities (filter and sort campaigns), get_performance (daily or total
metrics), list_drafts, get_draft, get_audit_log.

Draft tools (if your token allows drafting): propose_budget_change, propose_budget_shift,
propose_status_change, withdraw_draft. Each reads the live value first and records it; a refusal names
the policy rule and its numbers. A draft returns its console URL: give it to the user, since nothing
spends until humans approve there.

Money, in arguments and results, is a decimal string in the account currency's major unit, such as
"650.00" for USD or "5000" for JPY (no decimals). Find ids with list_accounts and query_entities first.
"""


def build_deps(settings: GatewaySettings, *, clock: Clock | None = None) -> GatewayDeps:
    """The real adapters. The reader holds the platform's read token only; the gateway has no other.

    Every platform read (accounts, campaigns, insights, the live read a proposal starts from) is one
    aiohttp reader on the event loop. Redis has a blocking client for what runs in worker threads (store
    queries, withdrawals) and an asyncio client for what runs on the loop (reads' counters, proposals,
    ledger entries); both write the same store and the same ledger.
    """
    clock = clock or SystemClock()
    keys = redis_keys(settings)
    client = redis_client(settings)
    async_client = async_redis_client(settings)
    reader = LiveAdsimReader(settings.adsim_url, settings.adsim_read_token.get_secret_value())
    store = RedisDraftStore(client, keys=keys)
    ledger = redis_ledger(settings, client=client, clock=clock, keys=keys)
    audit = LedgerBatcher(AsyncLedgerAppender(ledger, async_client))
    async_store = AsyncDraftStore(async_client, keys=keys)
    core = build_core(
        settings,
        client=client,
        keys=keys,
        reader=None,
        accounts=AccountCatalog.on_loop(reader),
        clock=clock,
        store=store,
        ledger=ledger,
    )
    return GatewayDeps(
        core=core,
        reads=CachedReader(reader, ttl_seconds=settings.gateway_cache_ttl_seconds),
        directory=PrincipalDirectory(settings.principals_file),
        redis_client=client,
        store=async_store,
        audit=audit,
        drafting=DraftIO(reader=reader, store=async_store, ledger=audit),
        principals_file=settings.principals_file,
        closers=(client.close,),
        async_closers=(reader.aclose, async_client.aclose),
    )


def create_mcp(gw: GatewayDeps) -> FastMCP:
    @asynccontextmanager
    async def closing(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            await gw.aclose()

    mcp = FastMCP(
        "spendgate",
        instructions=INSTRUCTIONS,
        auth=PrincipalTokenVerifier(gw.directory),
        middleware=[ToolCallMiddleware(READ_TOOLS + DRAFT_TOOLS)],
        lifespan=closing,
        mask_error_details=True,
        strict_input_validation=True,
    )
    register_read_tools(mcp, gw)
    register_draft_tools(mcp, gw)
    register_ops_routes(mcp, gw)
    return mcp


def create_app(settings: GatewaySettings, *, clock: Clock | None = None) -> StarletteWithLifespan:
    """The ASGI app. Stateless HTTP: no per-process session state, so any replica answers any request,
    for 2026-07-28 clients and for handshake-era clients alike."""
    return create_mcp(build_deps(settings, clock=clock)).http_app(path=MCP_PATH, stateless_http=True)
