"""Proposing and withdrawing drafts: the only things an AI principal can cause; and staging a
rollback, which humans request through the same steps.

A draft reads the live value first and records it as `before`; every refusal names its rule. The rules
are pure functions (`budget_change`, `new_draft`, …); the one I/O sequence (`_stage`) runs on an event
loop, because the gateway's proposals are the hot path: run as a blocking call in FastMCP's thread pool,
a proposal spent measurably more CPU (bench/), most of it handing the GIL between the pool and the loop
around each network round trip. Blocking callers (the approval service's rollbacks, test fixtures) run
it on a loop too, so every draft is made by this sequence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from spendgate_core.contracts.ledger import EntryRequest
from spendgate_core.domain import lifecycle
from spendgate_core.domain.ids import new_draft_id
from spendgate_core.domain.models import (
    Actor,
    CampaignStatus,
    Change,
    Draft,
    DraftKind,
    Impact,
    change_delta,
)
from spendgate_core.domain.platform import Account, Campaign
from spendgate_core.domain.policy import Limits, check_draft, required_approvals
from spendgate_core.domain.principals import Principal
from spendgate_core.domain.proposals import (
    Proposal,
    budget_amounts,
    budget_change,
    budget_shift,
    shift_amount,
    status_change,
)
from spendgate_core.errors import (
    Conflict,
    DuplicateDraft,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyViolation,
    SpendgateError,
)
from spendgate_core.logs import bound, current_request_id
from spendgate_core.metrics import DRAFTS_CREATED, DRAFTS_REFUSED
from spendgate_core.usecases.announcing import event_of
from spendgate_core.usecases.commit import commit
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.ports import AsyncCampaignReader, AsyncDraftStore, EntryRecorder

log = logging.getLogger(__name__)


@contextmanager
def counting_refusals() -> Iterator[None]:
    """Count a refusal raised inside the block under the rule that refused it."""
    try:
        yield
    except PolicyViolation as exc:
        DRAFTS_REFUSED.labels(exc.rule).inc()
        raise
    except DuplicateDraft:
        DRAFTS_REFUSED.labels("duplicate_draft").inc()
        raise
    except NotFound:
        DRAFTS_REFUSED.labels("unknown_entity").inc()
        raise
    except Conflict:
        DRAFTS_REFUSED.labels("expected_current_budget").inc()
        raise
    except InvalidInput:
        DRAFTS_REFUSED.labels("invalid_input").inc()
        raise


def require_drafter(principal: Principal) -> None:
    if not principal.has_scope("mcp.draft"):
        raise Forbidden(f"{principal.name} may read but not draft (needs the mcp.draft scope)")


@contextmanager
def campaign_lookup(account: Account, campaign_id: str) -> Iterator[None]:
    """An unknown campaign, reworded for the model: where to find the ids."""
    try:
        yield
    except NotFound:
        raise NotFound(
            f"unknown campaign {campaign_id!r} in account {account.id}; "
            "use query_entities to find campaign ids"
        ) from None


def new_draft(
    deps: CoreDeps,
    *,
    principal: Principal,
    account: Account,
    platform: str,
    proposal: Proposal,
    reason: str,
    rollback_of: str | None = None,
) -> tuple[Draft, Limits]:
    """The pending draft for a proposal, and the account's limits it must pass."""
    now = deps.clock.now()
    limits = deps.limits(account.id, account.currency)
    draft = Draft(
        id=new_draft_id(now),
        account_id=account.id,
        platform=platform,
        kind=proposal.kind,
        changes=proposal.changes,
        impact=Impact(daily_budget_delta=proposal.delta, currency=account.currency),
        reason=reason,
        proposed_by=Actor(name=principal.name, kind=principal.kind),
        created_at=now,
        expires_at=now + timedelta(hours=limits.draft_ttl_hours),
        rollback_of=rollback_of,
        request_id=current_request_id(),
    )
    # Four eyes weighs every increase in the draft, so a large shift cannot slip through as "net zero".
    required = required_approvals(increase=draft.gross_increase, limits=limits)
    return draft.model_copy(update={"required_approvals": required}), limits


def ledger_request(principal: Principal, draft: Draft) -> EntryRequest:
    return EntryRequest(
        actor=principal.name,
        action="draft" if draft.kind is not DraftKind.ROLLBACK else "rollback",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={
            "kind": draft.kind.value,
            "changes": [c.model_dump(mode="json") for c in draft.changes],
            "daily_budget_delta": draft.impact.daily_budget_delta,
            "currency": draft.impact.currency,
            "reason": draft.reason,
            **({"rollback_of": draft.rollback_of} if draft.rollback_of else {}),
        },
    )


def created(draft: Draft, principal: Principal) -> None:
    """Count and log a stored draft."""
    DRAFTS_CREATED.labels(draft.kind.value).inc()
    with bound(request_id=draft.request_id, draft_id=draft.id):
        log.info(
            "draft created",
            extra={
                "event": "draft.created",
                "kind": draft.kind.value,
                "account_id": draft.account_id,
                "actor": principal.name,
            },
        )


@dataclass(frozen=True, kw_only=True)
class DraftWrites:
    """Where staging a draft writes, on the event loop: the store (whose create script also writes
    `draft.created` when `deps.events` is wired) and the ledger."""

    store: AsyncDraftStore
    ledger: EntryRecorder
    persisting: set[asyncio.Task[None]] = field(default_factory=set, compare=False)

    async def drain(self) -> None:
        """Wait for drafts still being stored, ledgered and announced (before their clients close)."""
        while self.persisting:
            await asyncio.wait(set(self.persisting))

    async def to_the_end(self, steps: Coroutine[Any, Any, None]) -> None:
        """Run `steps` to the end even if the caller is cancelled meanwhile (as a worker thread would),
        held until done and drained on shutdown; a failure its caller left behind is logged."""
        task = asyncio.ensure_future(steps)
        self.persisting.add(task)
        task.add_done_callback(self._forget)
        await asyncio.shield(task)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self.persisting.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, SpendgateError):  # a refusal reaches its caller
            log.error("storing a draft failed part-way: %s: %s", type(error).__name__, error)


@dataclass(frozen=True, kw_only=True)
class DraftIO(DraftWrites):
    """What proposing reads as well: the live campaign its `before` values come from."""

    reader: AsyncCampaignReader


async def _campaign(io: DraftIO, account: Account, campaign_id: str) -> Campaign:
    with campaign_lookup(account, campaign_id):
        return await io.reader.get_campaign(account.id, campaign_id)


async def _stage(
    deps: CoreDeps,
    io: DraftWrites,
    *,
    principal: Principal,
    account: Account,
    proposal: Proposal,
    reason: str,
    rollback_of: str | None = None,
) -> Draft:
    """Build the draft, check every policy rule, store it (taking its field locks) and ledger it."""
    draft, limits = new_draft(
        deps,
        principal=principal,
        account=account,
        platform=deps.catalog.platform,
        proposal=proposal,
        reason=reason,
        rollback_of=rollback_of,
    )
    # Only increases draw on the envelope, so only they need to know how much of it is used.
    used = await io.store.envelope_used(account.id, now=draft.created_at) if draft.increase > 0 else 0
    check_draft(draft, limits=limits, envelope_used=used)

    async def persist() -> None:
        event = event_of(deps, "draft.created", draft)
        await io.store.create(draft, max_pending=limits.max_pending_drafts, event=event)
        await io.ledger.record(ledger_request(principal, draft))
        created(draft, principal)

    # A client that hangs up must not leave a stored draft without its ledger entry.
    await io.to_the_end(persist())
    return draft


async def propose_budget_change(
    *,
    deps: CoreDeps,
    io: DraftIO,
    principal: Principal,
    account_id: str,
    campaign_id: str,
    new_daily_budget: Decimal | str,
    reason: str,
    expected_current_budget: Decimal | str | None = None,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = await deps.catalog.aget(principal, account_id)
        new, expected = budget_amounts(account, new_daily_budget, expected_current_budget)
        campaign = await _campaign(io, account, campaign_id)
        proposal = budget_change(campaign, new=new, expected=expected, currency=account.currency)
        return await _stage(deps, io, principal=principal, account=account, proposal=proposal, reason=reason)


async def propose_budget_shift(
    *,
    deps: CoreDeps,
    io: DraftIO,
    principal: Principal,
    account_id: str,
    from_campaign_id: str,
    to_campaign_id: str,
    amount: Decimal | str,
    reason: str,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = await deps.catalog.aget(principal, account_id)
        moved = shift_amount(
            amount, account=account, from_campaign_id=from_campaign_id, to_campaign_id=to_campaign_id
        )
        source = await _campaign(io, account, from_campaign_id)
        target = await _campaign(io, account, to_campaign_id)
        proposal = budget_shift(source, target, moved=moved)
        return await _stage(deps, io, principal=principal, account=account, proposal=proposal, reason=reason)


async def propose_status_change(
    *,
    deps: CoreDeps,
    io: DraftIO,
    principal: Principal,
    account_id: str,
    campaign_id: str,
    new_status: CampaignStatus,
    reason: str,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = await deps.catalog.aget(principal, account_id)
        campaign = await _campaign(io, account, campaign_id)
        proposal = status_change(campaign, new_status)
        return await _stage(deps, io, principal=principal, account=account, proposal=proposal, reason=reason)


async def stage_rollback(
    *,
    deps: CoreDeps,
    io: DraftWrites,
    principal: Principal,
    account: Account,
    original: Draft,
    changes: tuple[Change, ...],
) -> Draft:
    """Stage a rollback draft (used by the approval service; humans request rollbacks, agents cannot)."""
    return await _stage(
        deps,
        io,
        principal=principal,
        account=account,
        proposal=Proposal(DraftKind.ROLLBACK, changes, sum(change_delta(c) for c in changes)),
        reason=f"rollback of {original.id}: {original.reason}"[:2000],
        rollback_of=original.id,
    )


def withdraw_draft(*, deps: CoreDeps, principal: Principal, draft_id: str, reason: str) -> Draft:
    draft = deps.store.get(draft_id)
    if not principal.sees(draft.account_id):
        raise NotFound(f"no draft {draft_id}")
    withdrawn = lifecycle.withdraw(draft, principal=principal.name, reason=reason, now=deps.clock.now())
    return commit(
        deps,
        draft,
        withdrawn,
        actor=principal.name,
        action="withdraw",
        details={"reason": reason},
        event="draft.withdrawn",
    )
