"""Proposing and withdrawing drafts: the only things an AI principal can cause (SPEC §4).

A draft reads the live value first and records it as `before`; every refusal names its rule. The rules
are pure functions (`budget_change`, `new_draft`, …) that `drafting_async`, the event-loop path the
gateway uses, shares with the blocking use cases here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from spendgate_core.contracts.ledger import EntryRequest
from spendgate_core.domain import lifecycle
from spendgate_core.domain.ids import new_draft_id
from spendgate_core.domain.models import (
    Actor,
    CampaignStatus,
    Change,
    ChangeField,
    Draft,
    DraftKind,
    Impact,
    change_delta,
)
from spendgate_core.domain.money import format_money, to_minor
from spendgate_core.domain.platform import Account, Campaign
from spendgate_core.domain.policy import Limits, check_draft, required_approvals
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import Conflict, DuplicateDraft, Forbidden, InvalidInput, NotFound, PolicyViolation
from spendgate_core.logs import bound, current_request_id
from spendgate_core.metrics import DRAFTS_CREATED, DRAFTS_REFUSED
from spendgate_core.usecases.announcing import announce, event_of
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    """What a proposal would change, worked out from the live values: the draft's kind, changes and
    net daily-budget delta. Pure, so the blocking and the event-loop use cases share every rule."""

    kind: DraftKind
    changes: tuple[Change, ...]
    delta: int


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


def shift_amount(
    amount: Decimal | str, *, account: Account, from_campaign_id: str, to_campaign_id: str
) -> int:
    """The amount to move, in minor units, refused before any platform read if it cannot be a shift."""
    moved = to_minor(amount, account.currency)
    if moved <= 0:
        raise InvalidInput("amount must be greater than zero")
    if from_campaign_id == to_campaign_id:
        raise InvalidInput("from_campaign_id and to_campaign_id must be different campaigns")
    return moved


def budget_amounts(
    account: Account, new_daily_budget: Decimal | str, expected_current_budget: Decimal | str | None
) -> tuple[int, int | None]:
    """The new and the expected budget in minor units, refused before any platform read if malformed."""
    new = to_minor(new_daily_budget, account.currency)
    if expected_current_budget is None:
        return new, None
    return new, to_minor(expected_current_budget, account.currency)


def budget_change(campaign: Campaign, *, new: int, expected: int | None, currency: str) -> Proposal:
    if expected is not None and expected != campaign.daily_budget:
        raise Conflict(
            f"expected_current_budget: {campaign.id} has "
            f"{format_money(campaign.daily_budget, currency)} live, "
            f"not {format_money(expected, currency)}; re-read it and propose again"
        )
    if new == campaign.daily_budget:
        raise InvalidInput(f"{campaign.id} already has a daily budget of {format_money(new, currency)}")
    change = Change(
        entity_id=campaign.id, field=ChangeField.DAILY_BUDGET, before=campaign.daily_budget, after=new
    )
    return Proposal(DraftKind.BUDGET_CHANGE, (change,), new - campaign.daily_budget)


def budget_shift(source: Campaign, target: Campaign, *, moved: int) -> Proposal:
    if source.status is not CampaignStatus.ENABLED:
        # Budget taken from a paused campaign was not being spent: moving it is a pure increase.
        raise InvalidInput(
            f"{source.id} is {source.status.value}, so its budget is not being spent; "
            "propose a budget change for the target instead"
        )
    # The decrease is written first: if the increase then fails, nothing was added to spend.
    changes = (
        Change(
            entity_id=source.id,
            field=ChangeField.DAILY_BUDGET,
            before=source.daily_budget,
            after=source.daily_budget - moved,
        ),
        Change(
            entity_id=target.id,
            field=ChangeField.DAILY_BUDGET,
            before=target.daily_budget,
            after=target.daily_budget + moved,
        ),
    )
    return Proposal(DraftKind.BUDGET_SHIFT, changes, 0)


def status_change(campaign: Campaign, new_status: CampaignStatus) -> Proposal:
    if campaign.status is new_status:
        raise InvalidInput(f"{campaign.id} is already {new_status.value}")
    # Enabling a paused campaign starts spending its daily budget: it counts as an increase.
    delta = campaign.daily_budget if new_status is CampaignStatus.ENABLED else -campaign.daily_budget
    change = Change(
        entity_id=campaign.id,
        field=ChangeField.STATUS,
        before=campaign.status.value,
        after=new_status.value,
        budget_basis=campaign.daily_budget,
    )
    return Proposal(DraftKind.STATUS_CHANGE, (change,), delta)


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


def _campaign(deps: CoreDeps, account: Account, campaign_id: str) -> Campaign:
    with campaign_lookup(account, campaign_id):
        return deps.reader.get_campaign(account.id, campaign_id)


def _stage(
    deps: CoreDeps,
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
        platform=deps.reader.platform,
        proposal=proposal,
        reason=reason,
        rollback_of=rollback_of,
    )
    # Only increases draw on the envelope, so only they need to know how much of it is used.
    used = deps.store.envelope_used(account.id, now=draft.created_at) if draft.increase > 0 else 0
    check_draft(draft, limits=limits, envelope_used=used)
    deps.store.create(
        draft,
        max_pending=limits.max_pending_drafts,
        event=event_of(deps, "draft.created", draft),
    )
    deps.ledger.append_many([ledger_request(principal, draft)])
    created(draft, principal)
    return draft


def propose_budget_change(
    *,
    deps: CoreDeps,
    principal: Principal,
    account_id: str,
    campaign_id: str,
    new_daily_budget: Decimal | str,
    reason: str,
    expected_current_budget: Decimal | str | None = None,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        new, expected = budget_amounts(account, new_daily_budget, expected_current_budget)
        campaign = _campaign(deps, account, campaign_id)
        proposal = budget_change(campaign, new=new, expected=expected, currency=account.currency)
        return _stage(deps, principal=principal, account=account, proposal=proposal, reason=reason)


def propose_budget_shift(
    *,
    deps: CoreDeps,
    principal: Principal,
    account_id: str,
    from_campaign_id: str,
    to_campaign_id: str,
    amount: Decimal | str,
    reason: str,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        moved = shift_amount(
            amount, account=account, from_campaign_id=from_campaign_id, to_campaign_id=to_campaign_id
        )
        source = _campaign(deps, account, from_campaign_id)
        target = _campaign(deps, account, to_campaign_id)
        proposal = budget_shift(source, target, moved=moved)
        return _stage(deps, principal=principal, account=account, proposal=proposal, reason=reason)


def propose_status_change(
    *,
    deps: CoreDeps,
    principal: Principal,
    account_id: str,
    campaign_id: str,
    new_status: CampaignStatus,
    reason: str,
) -> Draft:
    with counting_refusals():
        require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        campaign = _campaign(deps, account, campaign_id)
        proposal = status_change(campaign, new_status)
        return _stage(deps, principal=principal, account=account, proposal=proposal, reason=reason)


def withdraw_draft(*, deps: CoreDeps, principal: Principal, draft_id: str, reason: str) -> Draft:
    draft = deps.store.get(draft_id)
    if not principal.sees(draft.account_id):
        raise NotFound(f"no draft {draft_id}")
    withdrawn = lifecycle.withdraw(draft, principal=principal.name, reason=reason, now=deps.clock.now())
    deps.store.save(withdrawn, expected_version=draft.version)
    deps.ledger.append(
        actor=principal.name,
        action="withdraw",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={"reason": reason},
    )
    announce(deps, "draft.withdrawn", withdrawn)
    return withdrawn


def stage_rollback(
    *, deps: CoreDeps, principal: Principal, account: Account, original: Draft, changes: tuple[Change, ...]
) -> Draft:
    """Stage a rollback draft (used by the approval service; humans request rollbacks, agents cannot)."""
    return _stage(
        deps,
        principal=principal,
        account=account,
        proposal=Proposal(DraftKind.ROLLBACK, changes, sum(change_delta(c) for c in changes)),
        reason=f"rollback of {original.id}: {original.reason}"[:2000],
        rollback_of=original.id,
    )
