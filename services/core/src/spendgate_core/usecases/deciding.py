"""Human decisions (SPEC §5-§7): arm, confirm, reject, rollback. Every channel calls these, so no
channel gets a shortcut: the same principal rules, two steps, four eyes, policy and ledger for all.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

import anyio.to_thread

from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import Change, Channel, Draft, DraftStatus
from spendgate_core.domain.policy import check_draft, required_approvals
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    VersionConflict,
)
from spendgate_core.logs import bound
from spendgate_core.metrics import DECISIONS, DRAFT_DECISION_SECONDS
from spendgate_core.usecases.announcing import announce
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.drafting import DraftWrites, stage_rollback

log = logging.getLogger(__name__)


def _log_decision(draft: Draft, event: str, *, actor: str, channel: Channel) -> None:
    """One JSON log line per decision, under the request id the draft was proposed with."""
    with bound(request_id=draft.request_id, draft_id=draft.id):
        log.info(
            event, extra={"event": event, "actor": actor, "channel": channel, "status": draft.status.value}
        )


@dataclass(frozen=True)
class Armed:
    draft: Draft
    confirm_token: str
    confirm_before: datetime


def visible_draft(deps: CoreDeps, principal: Principal, draft_id: str) -> Draft:
    """The draft, or NotFound exactly as for an unknown id when the principal may not see its account."""
    draft = deps.store.get(draft_id)
    if not principal.sees(draft.account_id):
        raise NotFound(f"no draft {draft_id}")
    return draft


def _decider_draft(deps: CoreDeps, principal: Principal, draft_id: str) -> Draft:
    draft = visible_draft(deps, principal, draft_id)
    if not principal.may_decide(draft.account_id):
        raise Forbidden(f"{principal.name} may read drafts of {draft.account_id} but not decide them")
    if draft.proposed_by.name == principal.name:
        raise Forbidden("you proposed this draft; a different approver must decide it")
    return draft


def parse_if_match(if_match: str | None) -> int:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired('arming needs If-Match: "<version>" from GET /v1/drafts/{id} (its ETag)')
    raw = if_match.strip().removeprefix("W/").strip('"')
    # isascii: str.isdigit() also accepts "²" or "³", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        raise PreconditionFailed(f"If-Match {if_match!r} is not a draft version ETag")
    return int(raw)


def arm(
    *, deps: CoreDeps, principal: Principal, draft_id: str, if_match: str | None, channel: Channel
) -> Armed:
    expected = parse_if_match(if_match)
    draft = _decider_draft(deps, principal, draft_id)
    if draft.version != expected:
        raise PreconditionFailed(
            f"draft {draft_id} is at version {draft.version}, not {expected}; "
            "re-read it and check the diff again"
        )
    now = deps.clock.now()
    limits = deps.limits(draft.account_id, draft.currency)
    token = secrets.token_urlsafe(24)
    armed = lifecycle.arm(
        draft,
        principal=principal.name,
        channel=channel,
        token=token,
        now=now,
        window_seconds=limits.arm_window_seconds,
    )
    deps.store.save(armed, expected_version=draft.version)
    deps.ledger.append(
        actor=principal.name,
        action="arm",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={"channel": channel, "version": armed.version},
    )
    announce(deps, "draft.armed", armed)
    _log_decision(armed, "draft armed", actor=principal.name, channel=channel)
    mine = armed.arms[-1]
    return Armed(draft=armed, confirm_token=token, confirm_before=mine.confirm_before)


def confirm(
    *,
    deps: CoreDeps,
    principal: Principal,
    draft_id: str,
    confirm_token: str,
    channel: Channel,
    queue: ApplyQueue,
) -> Draft:
    """Record this human's approval; when the quorum is met the draft is approved and its apply enqueued.

    Idempotent: a retried or concurrent confirm by the same human returns the recorded outcome and
    never adds a second approval or a second job.
    """
    draft = _decider_draft(deps, principal, draft_id)
    if principal.name in lifecycle.approvers(draft):
        return draft  # a retry of a confirm that already counted
    now = deps.clock.now()
    if draft.status is DraftStatus.ARMED and not lifecycle.live_arms(draft, now=now):
        _lapse_arms(deps, principal, draft, now=now)
        raise Conflict(
            f"the arm window of draft {draft_id} has passed, so it is pending again; arm it, then confirm"
        )
    limits = deps.limits(draft.account_id, draft.currency)
    check_draft(draft, limits=limits, envelope_used=deps.store.envelope_used(draft.account_id, now=now))
    # Policy in force now decides how many humans are needed, if it asks for more than at drafting.
    needed = max(draft.required_approvals, required_approvals(increase=draft.gross_increase, limits=limits))
    confirmed = lifecycle.confirm(
        draft.model_copy(update={"required_approvals": needed}),
        principal=principal.name,
        token=confirm_token,
        now=now,
    )
    try:
        deps.store.save(confirmed, expected_version=draft.version)
    except VersionConflict:
        current = deps.store.get(draft_id)
        if principal.name in lifecycle.approvers(current):
            return current  # the concurrent twin of this request won; one approval, one job
        raise Conflict(f"draft {draft_id} changed while confirming; re-read it and try again") from None
    quorum = confirmed.status is DraftStatus.APPROVED
    deps.ledger.append(
        actor=principal.name,
        action="confirm",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={
            "channel": channel,
            "version": confirmed.version,
            "approvals": len(confirmed.approvals),
            "required": confirmed.required_approvals,
            "quorum_met": quorum,
        },
    )
    if quorum:
        DECISIONS.labels("approve", channel).inc()
        DRAFT_DECISION_SECONDS.observe((now - draft.created_at).total_seconds())
        # The approved draft is the durable record; if this enqueue is lost, the sweep re-enqueues it.
        queue.enqueue_apply(confirmed.id, confirmed.version)
    announce(deps, "draft.approved" if quorum else "draft.approval_recorded", confirmed)
    _log_decision(confirmed, "draft confirmed", actor=principal.name, channel=channel)
    return confirmed


def _lapse_arms(deps: CoreDeps, principal: Principal, draft: Draft, *, now: datetime) -> None:
    """Every arm's window has passed: the draft goes back to pending (approvals so far are kept)."""
    try:
        disarmed = deps.store.save(lifecycle.disarm(draft, now=now), expected_version=draft.version)
    except VersionConflict:
        return  # a concurrent request already moved it on (another lapse or a fresh arm); that state stands
    deps.ledger.append(
        actor=principal.name,
        action="arm_expired",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={"version": draft.version + 1, "armed_by": [a.principal for a in draft.arms]},
    )
    announce(deps, "draft.disarmed", disarmed)


def reject(*, deps: CoreDeps, principal: Principal, draft_id: str, reason: str, channel: Channel) -> Draft:
    draft = _decider_draft(deps, principal, draft_id)
    if draft.status is DraftStatus.REJECTED:
        return draft  # idempotent retry
    now = deps.clock.now()
    rejected = lifecycle.reject(draft, principal=principal.name, reason=reason, now=now)
    try:
        deps.store.save(rejected, expected_version=draft.version)
    except VersionConflict:
        current = deps.store.get(draft_id)
        if current.status is DraftStatus.REJECTED:
            return current
        raise Conflict(f"draft {draft_id} changed while rejecting; re-read it and try again") from None
    deps.ledger.append(
        actor=principal.name,
        action="reject",
        account_id=draft.account_id,
        draft_id=draft.id,
        details={"channel": channel, "reason": reason},
    )
    DECISIONS.labels("reject", channel).inc()
    DRAFT_DECISION_SECONDS.observe((now - draft.created_at).total_seconds())
    announce(deps, "draft.rejected", rejected)
    _log_decision(rejected, "draft rejected", actor=principal.name, channel=channel)
    return rejected


def _rollback_changes(
    deps: CoreDeps, principal: Principal, draft_id: str
) -> tuple[Draft, tuple[Change, ...]]:
    """The applied draft and the changes that undo it: before = the live value now, after = the original
    before."""
    original = visible_draft(deps, principal, draft_id)
    if not principal.may_decide(original.account_id):
        raise Forbidden(f"{principal.name} may not request rollbacks in {original.account_id}")
    applied = original.applied_changes if original.status is DraftStatus.APPLY_FAILED else ()
    if original.status is DraftStatus.APPLIED:
        applied = tuple(range(len(original.changes)))
    if not applied:
        raise Conflict(
            f"draft {draft_id} is {original.status.value}; only applied changes can be rolled back"
        )
    changes: list[Change] = []
    for index in reversed(applied):  # undo in the opposite order to how they were written
        change = original.changes[index]
        live = deps.reader.get_campaign(original.account_id, change.entity_id)
        now_value: int | str = (
            live.daily_budget if change.field.value == "daily_budget" else live.status.value
        )
        if now_value == change.before:
            continue
        basis = live.daily_budget if change.field.value == "status" else None
        changes.append(
            change.model_copy(update={"before": now_value, "after": change.before, "budget_basis": basis})
        )
    if not changes:
        raise Conflict(f"every change of {draft_id} already has its original value; nothing to roll back")
    return original, tuple(changes)


async def request_rollback(*, deps: CoreDeps, io: DraftWrites, principal: Principal, draft_id: str) -> Draft:
    """Stage a rollback of an applied draft, through the same steps as any proposal (`drafting`).

    The rollback is an ordinary draft: it needs the same two-step approval (and not from its requester).
    The live reads are blocking calls, made in a worker thread.
    """
    original, changes = await anyio.to_thread.run_sync(_rollback_changes, deps, principal, draft_id)
    account = await deps.catalog.aget(principal, original.account_id)
    return await stage_rollback(
        deps=deps, io=io, principal=principal, account=account, original=original, changes=changes
    )
