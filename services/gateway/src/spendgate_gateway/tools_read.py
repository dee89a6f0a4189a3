"""The read tools (scope `mcp.read`): accounts, snapshot, campaigns, performance, drafts, audit."""

from __future__ import annotations

import functools
from datetime import date
from typing import Annotated, Literal

import anyio.to_thread
from fastmcp import FastMCP
from mcp_types import ToolAnnotations
from pydantic import Field

from spendgate_core.contracts.views import draft_view
from spendgate_core.domain.models import Draft
from spendgate_core.usecases import queries
from spendgate_core.usecases.deciding import visible_draft
from spendgate_gateway import reads
from spendgate_gateway.deps import GatewayDeps
from spendgate_gateway.errors import model_errors
from spendgate_gateway.schemas import (
    AccountId,
    AccountList,
    AccountSnapshot,
    AuditEntry,
    AuditLog,
    CampaignField,
    CampaignId,
    DraftId,
    DraftList,
    DraftOut,
    DraftStatusFilter,
    EntityFilter,
    EntityPage,
    Limit,
    Performance,
)

READ_TOOLS = (
    "list_accounts",
    "get_account_snapshot",
    "query_entities",
    "get_performance",
    "list_drafts",
    "get_draft",
    "get_audit_log",
)


def _read(title: str) -> ToolAnnotations:
    return ToolAnnotations(
        title=title, read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )


def draft_out(gw: GatewayDeps, draft: Draft) -> DraftOut:
    return DraftOut.model_validate(draft_view(draft, url=gw.core.draft_url(draft.id)))


def register_read_tools(mcp: FastMCP, gw: GatewayDeps) -> None:
    core = gw.core

    @mcp.tool(title="List ad accounts", annotations=_read("List ad accounts"))
    async def list_accounts() -> AccountList:
        """List the ad accounts you may read and draft for: id, name, platform, currency, timezone, status."""
        with model_errors():
            principal = gw.principal()
            visible = await gw.visible_accounts(principal)
            await gw.record_read(principal, "list_accounts")
            return AccountList(accounts=[reads.account_out(a) for a in visible])

    @mcp.tool(title="Account snapshot", annotations=_read("Account snapshot"))
    async def get_account_snapshot(account_id: AccountId) -> AccountSnapshot:
        """Today's state of one account: spend today and month-to-date, every campaign with status, daily
        budget, spend today and pacing, the 24h budget-increase envelope used and left, and how many drafts
        wait for a human. Money is in the account currency's major unit."""
        with model_errors():
            principal = gw.principal()
            account = await gw.account(principal, account_id)
            result = await reads.snapshot(
                deps=core, reader=gw.reads, store=gw.store, rows=gw.rows, account=account
            )
            await gw.record_read(principal, "get_account_snapshot", account_id=account.id)
            return result

    @mcp.tool(title="Query campaigns", annotations=_read("Query campaigns"))
    async def query_entities(
        account_id: AccountId,
        entity_type: Annotated[
            Literal["campaign"], Field(description="Only campaigns for now.")
        ] = "campaign",
        filters: Annotated[
            list[EntityFilter],
            Field(
                max_length=20,
                description="All must hold. Fields: id, name, status, daily_budget, spend_today, pacing; "
                "ops: eq, ne, gt, gte, lt, lte, contains (contains: text fields, case-insensitive).",
            ),
        ] = [],  # noqa: B006 -- FastMCP reads the default for the schema; it is never mutated
        sort_by: Annotated[CampaignField, Field(description="Field to order by.")] = "id",
        descending: bool = False,
        limit: Limit = 50,
    ) -> EntityPage:
        """Find campaigns of an account by field filters, sorted, with daily budget, spend today, pacing."""
        with model_errors():
            principal = gw.principal()
            account = await gw.account(principal, account_id)
            result = await reads.query_campaigns(
                deps=core,
                reader=gw.reads,
                account=account,
                filters=filters,
                sort_by=sort_by,
                descending=descending,
                limit=limit,
            )
            await gw.record_read(
                principal,
                "query_entities",
                account_id=account.id,
                entity_type=entity_type,
                filters=[f.model_dump(mode="json") for f in filters],
                sort_by=sort_by,
                descending=descending,
                limit=limit,
            )
            return result

    @mcp.tool(title="Performance report", annotations=_read("Performance report"))
    async def get_performance(
        account_id: AccountId,
        start_date: Annotated[date, Field(description="First day, YYYY-MM-DD (UTC).")],
        end_date: Annotated[
            date, Field(description="Last day, YYYY-MM-DD; at most 366 days after start_date.")
        ],
        entity_id: Annotated[
            CampaignId | None, Field(description="A campaign id; omit for the account.")
        ] = None,
        granularity: Annotated[
            Literal["day", "total"], Field(description="One row per day, or one total.")
        ] = "day",
    ) -> Performance:
        """Performance of an account or one campaign over a date range: impressions, clicks, spend,
        conversions, conversion value, CTR, CPC, CPA and ROAS. The platform keeps the last 90 full days."""
        with model_errors():
            principal = gw.principal()
            account = await gw.account(principal, account_id)
            result = await reads.performance(
                reader=gw.reads,
                account=account,
                entity_id=entity_id,
                start_date=start_date,
                end_date=end_date,
                granularity=granularity,
            )
            await gw.record_read(
                principal,
                "get_performance",
                account_id=account.id,
                entity_id=entity_id,
                start_date=start_date.isoformat(),
                end_date=end_date.isoformat(),
                granularity=granularity,
            )
            return result

    # The draft and audit reads query the store with blocking Redis calls: they run in a worker thread.
    @mcp.tool(title="List drafts", annotations=_read("List drafts"))
    async def list_drafts(
        account_id: Annotated[AccountId | None, Field(description="Only this account's drafts.")] = None,
        status: DraftStatusFilter = None,
        limit: Limit = 50,
    ) -> DraftList:
        """List drafts you can see, newest first, with their status and approvals."""
        with model_errors():
            principal = gw.principal()
            if account_id is not None:  # an unknown or foreign id is named back, never silently empty
                await gw.account(principal, account_id)
            drafts = await anyio.to_thread.run_sync(
                functools.partial(
                    queries.visible_drafts,
                    deps=core,
                    principal=principal,
                    account_id=account_id,
                    status=status,
                    limit=limit,
                )
            )
            await gw.record_read(
                principal,
                "list_drafts",
                account_id=account_id,
                status=None if status is None else status.value,
                limit=limit,
            )
            return DraftList(drafts=[draft_out(gw, d) for d in drafts])

    @mcp.tool(title="Get a draft", annotations=_read("Get a draft"))
    async def get_draft(draft_id: DraftId) -> DraftOut:
        """One draft: its changes (before and after), impact, status, approvals and review URL."""
        with model_errors():
            principal = gw.principal()
            draft = await anyio.to_thread.run_sync(visible_draft, core, principal, draft_id)
            await gw.record_read(principal, "get_draft", account_id=draft.account_id, draft_id=draft.id)
            return draft_out(gw, draft)

    @mcp.tool(title="Audit log", annotations=_read("Audit log"))
    async def get_audit_log(account_id: AccountId, limit: Limit = 50) -> AuditLog:
        """The latest tamper-evident ledger entries of an account: reads, drafts, decisions, applies."""
        with model_errors():
            principal = gw.principal()
            account = await gw.account(principal, account_id)
            found = await anyio.to_thread.run_sync(
                functools.partial(
                    queries.visible_audit, deps=core, principal=principal, account_id=account.id, limit=limit
                )
            )
            entries = [
                AuditEntry.model_validate(e.model_dump(mode="json", exclude={"prev_hash", "hash", "sig"}))
                for e in found
            ]
            await gw.record_read(principal, "get_audit_log", account_id=account.id, limit=limit)
            return AuditLog(account_id=account.id, entries=entries)
