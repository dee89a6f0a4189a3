"""The draft tools (scope `mcp.draft`): stage changes for humans to approve; never apply them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastmcp import FastMCP
from fastmcp.server.auth import require_scopes
from mcp_types import ToolAnnotations
from pydantic import Field

from spendgate_core.contracts.views import change_view, impact_view
from spendgate_core.domain.models import CampaignStatus, Draft
from spendgate_core.usecases import drafting
from spendgate_gateway.auth import DRAFT_SCOPE
from spendgate_gateway.deps import GatewayDeps
from spendgate_gateway.errors import model_errors
from spendgate_gateway.schemas import (
    MONEY_HINT,
    AccountId,
    Amount,
    CampaignId,
    ChangeOut,
    DraftId,
    DraftOut,
    DraftProposal,
    ImpactOut,
    Reason,
)
from spendgate_gateway.tools_read import draft_out

DRAFT_TOOLS = ("propose_budget_change", "propose_budget_shift", "propose_status_change", "withdraw_draft")


def _draft(title: str) -> ToolAnnotations:
    # Not destructive: a draft changes nothing on the platform until humans approve it.
    return ToolAnnotations(
        title=title, read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
    )


def proposal(gw: GatewayDeps, draft: Draft) -> DraftProposal:
    url = gw.core.draft_url(draft.id)
    expires_at = draft.expires_at.isoformat()
    humans = "one human" if draft.required_approvals == 1 else f"{draft.required_approvals} different humans"
    return DraftProposal(
        draft_id=draft.id,
        status=draft.status.value,
        kind=draft.kind.value,
        account_id=draft.account_id,
        changes=[ChangeOut.model_validate(change_view(c, draft.currency)) for c in draft.changes],
        impact=ImpactOut.model_validate(impact_view(draft)),
        expires_at=expires_at,
        approvals_needed=draft.required_approvals,
        console_url=url,
        next_step=(
            f"Nothing has changed on the platform. The draft waits for {humans} to arm and confirm it at "
            f"{url} before {expires_at}; tell the user, and check it later with get_draft."
        ),
    )


def register_draft_tools(mcp: FastMCP, gw: GatewayDeps) -> None:
    core = gw.core
    drafter = require_scopes(DRAFT_SCOPE)  # read-only tokens do not even see these tools

    @mcp.tool(title="Propose a budget change", annotations=_draft("Propose a budget change"), auth=drafter)
    async def propose_budget_change(
        account_id: AccountId,
        campaign_id: CampaignId,
        new_daily_budget: Annotated[Amount, Field(description="The new daily budget " + MONEY_HINT + ".")],
        reason: Reason,
        expected_current_budget: Annotated[
            Amount | None,
            Field(
                description="The daily budget you believe is live now "
                + MONEY_HINT
                + "; the draft is refused if the live value differs."
            ),
        ] = None,
    ) -> DraftProposal:
        """Draft a new daily budget for one campaign. It reads the live budget first and records it; it is
        refused (naming the rule) if a policy limit, a rival pending draft or expected_current_budget
        stands in the way. Nothing spends until humans approve it in the spendgate console."""
        with model_errors():
            draft = await drafting.propose_budget_change(
                deps=core,
                io=gw.drafting,
                principal=gw.principal(),
                account_id=account_id,
                campaign_id=campaign_id,
                new_daily_budget=new_daily_budget,
                reason=reason,
                expected_current_budget=expected_current_budget,
            )
            return proposal(gw, draft)

    @mcp.tool(title="Propose a budget shift", annotations=_draft("Propose a budget shift"), auth=drafter)
    async def propose_budget_shift(
        account_id: AccountId,
        from_campaign_id: CampaignId,
        to_campaign_id: CampaignId,
        amount: Annotated[Amount, Field(description="Daily budget to move " + MONEY_HINT + ".")],
        reason: Reason,
    ) -> DraftProposal:
        """Draft moving daily budget from one campaign to another in the same account (net zero), as one
        draft with two changes. Nothing spends until humans approve it in the spendgate console."""
        with model_errors():
            draft = await drafting.propose_budget_shift(
                deps=core,
                io=gw.drafting,
                principal=gw.principal(),
                account_id=account_id,
                from_campaign_id=from_campaign_id,
                to_campaign_id=to_campaign_id,
                amount=amount,
                reason=reason,
            )
            return proposal(gw, draft)

    @mcp.tool(
        title="Propose pausing or enabling", annotations=_draft("Propose pausing or enabling"), auth=drafter
    )
    async def propose_status_change(
        account_id: AccountId,
        campaign_id: CampaignId,
        new_status: Annotated[Literal["PAUSED", "ENABLED"], Field(description="PAUSED or ENABLED.")],
        reason: Reason,
    ) -> DraftProposal:
        """Draft pausing or enabling one campaign (enabling counts as a budget increase for policy).
        Nothing changes until humans approve it in the spendgate console."""
        with model_errors():
            draft = await drafting.propose_status_change(
                deps=core,
                io=gw.drafting,
                principal=gw.principal(),
                account_id=account_id,
                campaign_id=campaign_id,
                new_status=CampaignStatus(new_status),
                reason=reason,
            )
            return proposal(gw, draft)

    # Rare and a versioned save: a blocking call in FastMCP's worker threads, unlike the proposals.
    @mcp.tool(title="Withdraw a draft", annotations=_draft("Withdraw a draft"), auth=drafter)
    def withdraw_draft(draft_id: DraftId, reason: Reason) -> DraftOut:
        """Withdraw one of your own drafts while it still waits for a decision."""
        with model_errors():
            draft = drafting.withdraw_draft(
                deps=core, principal=gw.principal(), draft_id=draft_id, reason=reason
            )
            return draft_out(gw, draft)
