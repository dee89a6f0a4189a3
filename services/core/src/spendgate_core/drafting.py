"""Proposing and withdrawing drafts: the only things an AI principal can cause (SPEC §4).

A draft reads the live value first and records it as `before`; every refusal names its rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from spendgate_core import lifecycle
from spendgate_core.deps import CoreDeps
from spendgate_core.errors import Conflict, DuplicateDraft, Forbidden, InvalidInput, NotFound, PolicyViolation
from spendgate_core.events import announce
from spendgate_core.ids import new_draft_id
from spendgate_core.logs import bound, current_request_id
from spendgate_core.metrics import DRAFTS_CREATED, DRAFTS_REFUSED
from spendgate_core.models import (
    Actor,
    CampaignStatus,
    Change,
    ChangeField,
    Draft,
    DraftKind,
    Impact,
    change_delta,
)
from spendgate_core.money import format_money, to_minor
from spendgate_core.platforms.reader import Account, Campaign
from spendgate_core.policy import check_draft, required_approvals
from spendgate_core.principals import Principal

T = TypeVar("T")
log = logging.getLogger(__name__)


def _counted(action: Callable[[], T]) -> T:
    """Run a proposal, counting a refusal under the rule that refused it."""
    try:
        return action()
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


def _require_drafter(principal: Principal) -> None:
    if not principal.has_scope("mcp.draft"):
        raise Forbidden(f"{principal.name} may read but not draft (needs the mcp.draft scope)")


def _campaign(deps: CoreDeps, account: Account, campaign_id: str) -> Campaign:
    try:
        return deps.reader.get_campaign(account.id, campaign_id)
    except NotFound:
        raise NotFound(
            f"unknown campaign {campaign_id!r} in account {account.id}; "
            "use query_entities to find campaign ids"
        ) from None


def _stage(
    deps: CoreDeps,
    *,
    principal: Principal,
    account: Account,
    kind: DraftKind,
    changes: tuple[Change, ...],
    delta: int,
    reason: str,
    rollback_of: str | None = None,
) -> Draft:
    """Build the draft, check every policy rule, store it (taking its field locks) and ledger it."""
    now = deps.clock.now()
    limits = deps.limits(account.id, account.currency)
    draft = Draft(
        id=new_draft_id(now),
        account_id=account.id,
        platform=deps.reader.platform,
        kind=kind,
        changes=changes,
        impact=Impact(daily_budget_delta=delta, currency=account.currency),
        reason=reason,
        proposed_by=Actor(name=principal.name, kind=principal.kind),
        created_at=now,
        expires_at=now + timedelta(hours=limits.draft_ttl_hours),
        rollback_of=rollback_of,
        request_id=current_request_id(),
    )
    # Four eyes weighs every increase in the draft, so a large shift cannot slip through as "net zero".
    draft = draft.model_copy(
        update={"required_approvals": required_approvals(increase=draft.gross_increase, limits=limits)}
    )
    # Only increases draw on the envelope, so only they need to know how much of it is used.
    used = deps.store.envelope_used(account.id, now=now) if draft.increase > 0 else 0
    check_draft(draft, limits=limits, envelope_used=used)
    deps.store.create(draft, max_pending=limits.max_pending_drafts)
    deps.ledger.append(
        actor=principal.name,
        action="draft" if kind is not DraftKind.ROLLBACK else "rollback",
        account_id=account.id,
        draft_id=draft.id,
        details={
            "kind": kind.value,
            "changes": [c.model_dump(mode="json") for c in changes],
            "daily_budget_delta": delta,
            "currency": account.currency,
            "reason": reason,
            **({"rollback_of": rollback_of} if rollback_of else {}),
        },
    )
    DRAFTS_CREATED.labels(kind.value).inc()
    with bound(request_id=draft.request_id, draft_id=draft.id):
        log.info(
            "draft created",
            extra={
                "event": "draft.created",
                "kind": kind.value,
                "account_id": account.id,
                "actor": principal.name,
            },
        )
    announce(deps, "draft.created", draft)
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
    def run() -> Draft:
        _require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        new = to_minor(new_daily_budget, account.currency)
        expected = (
            None if expected_current_budget is None else to_minor(expected_current_budget, account.currency)
        )
        campaign = _campaign(deps, account, campaign_id)
        money = account.currency
        if expected is not None and expected != campaign.daily_budget:
            raise Conflict(
                f"expected_current_budget: {campaign_id} has "
                f"{format_money(campaign.daily_budget, money)} live, "
                f"not {format_money(expected, money)}; re-read it and propose again"
            )
        if new == campaign.daily_budget:
            raise InvalidInput(f"{campaign_id} already has a daily budget of {format_money(new, money)}")
        change = Change(
            entity_id=campaign.id, field=ChangeField.DAILY_BUDGET, before=campaign.daily_budget, after=new
        )
        return _stage(
            deps,
            principal=principal,
            account=account,
            kind=DraftKind.BUDGET_CHANGE,
            changes=(change,),
            delta=new - campaign.daily_budget,
            reason=reason,
        )

    return _counted(run)


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
    def run() -> Draft:
        _require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        moved = to_minor(amount, account.currency)
        if moved <= 0:
            raise InvalidInput("amount must be greater than zero")
        if from_campaign_id == to_campaign_id:
            raise InvalidInput("from_campaign_id and to_campaign_id must be different campaigns")
        source = _campaign(deps, account, from_campaign_id)
        target = _campaign(deps, account, to_campaign_id)
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
        return _stage(
            deps,
            principal=principal,
            account=account,
            kind=DraftKind.BUDGET_SHIFT,
            changes=changes,
            delta=0,
            reason=reason,
        )

    return _counted(run)


def propose_status_change(
    *,
    deps: CoreDeps,
    principal: Principal,
    account_id: str,
    campaign_id: str,
    new_status: CampaignStatus,
    reason: str,
) -> Draft:
    def run() -> Draft:
        _require_drafter(principal)
        account = deps.catalog.get(principal, account_id)
        campaign = _campaign(deps, account, campaign_id)
        if campaign.status is new_status:
            raise InvalidInput(f"{campaign_id} is already {new_status.value}")
        # Enabling a paused campaign starts spending its daily budget: it counts as an increase.
        delta = campaign.daily_budget if new_status is CampaignStatus.ENABLED else -campaign.daily_budget
        change = Change(
            entity_id=campaign.id,
            field=ChangeField.STATUS,
            before=campaign.status.value,
            after=new_status.value,
            budget_basis=campaign.daily_budget,
        )
        return _stage(
            deps,
            principal=principal,
            account=account,
            kind=DraftKind.STATUS_CHANGE,
            changes=(change,),
            delta=delta,
            reason=reason,
        )

    return _counted(run)


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
    delta = sum(change_delta(c) for c in changes)
    return _stage(
        deps,
        principal=principal,
        account=account,
        kind=DraftKind.ROLLBACK,
        changes=changes,
        delta=delta,
        reason=f"rollback of {original.id}: {original.reason}"[:2000],
        rollback_of=original.id,
    )
