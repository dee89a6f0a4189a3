"""Human decisions: arm, confirm, reject, rollback. Every channel calls these, so no
channel gets a shortcut: the same principal rules, two steps, four eyes, policy and ledger for all.

Each use case asks the decision query (`decisions.decision_options`) whether the action is open for
this human and raises its reason when it is not, and writes through the one `commit` step.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import anyio.to_thread

from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import Change, Channel, Draft, DraftStatus
from spendgate_core.domain.policy import Limits, check_draft
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    VersionConflict,
)
from spendgate_core.usecases.commit import commit
from spendgate_core.usecases.decisions import DecisionOptions, decision_options, require
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.drafting import DraftWrites, stage_rollback

log = logging.getLogger(__name__)


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


def options_for(deps: CoreDeps, principal: Principal, draft: Draft) -> DecisionOptions:
    """The decision query for `draft` as it is stored, now, under its account's policy in force.

    A policy the account's currency cannot express sizes no quorum here (the draft's own stands), so a
    read still answers; confirming checks the policy again and refuses with the policy's own error.
    """
    try:
        limits: Limits | None = deps.limits(draft.account_id, draft.currency)
    except ConfigError as exc:
        log.error("policy for %s cannot be applied to %s: %s", draft.account_id, draft.currency, exc)
        limits = None
    return decision_options(draft, principal, now=deps.clock.now(), limits=limits)


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
    draft = visible_draft(deps, principal, draft_id)
    options = options_for(deps, principal, draft)
    if not options.decides:
        require(options, "arm")  # who is asking is refused whatever version they hold
    if draft.version != expected:
        raise PreconditionFailed(
            f"draft {draft_id} is at version {draft.version}, not {expected}; "
            "re-read it and check the diff again"
        )
    require(options, "arm")
    limits = deps.limits(draft.account_id, draft.currency)
    token = secrets.token_urlsafe(24)
    armed = lifecycle.arm(
        draft,
        principal=principal.name,
        channel=channel,
        token=token,
        now=deps.clock.now(),
        window_seconds=limits.arm_window_seconds,
    )
    armed = commit(
        deps,
        draft,
        armed,
        actor=principal.name,
        action="arm",
        details={"channel": channel, "version": armed.version},
        event="draft.armed",
        channel=channel,
    )
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
    draft = visible_draft(deps, principal, draft_id)
    options = options_for(deps, principal, draft)
    if options.decides and principal.name in lifecycle.approvers(draft):
        return draft  # a retry of a confirm that already counted
    now = deps.clock.now()
    if draft.status is DraftStatus.ARMED and not lifecycle.live_arms(draft, now=now):
        lapse_arms(deps, draft, actor=principal.name, now=now)
    require(options, "confirm")
    limits = deps.limits(draft.account_id, draft.currency)
    check_draft(draft, limits=limits, envelope_used=deps.store.envelope_used(draft.account_id, now=now))
    confirmed = lifecycle.confirm(
        draft.model_copy(update={"required_approvals": options.approvals_needed}),
        principal=principal.name,
        token=confirm_token,
        now=now,
    )
    quorum = confirmed.status is DraftStatus.APPROVED
    try:
        confirmed = commit(
            deps,
            draft,
            confirmed,
            actor=principal.name,
            action="confirm",
            details={
                "channel": channel,
                "version": confirmed.version,
                "approvals": len(confirmed.approvals),
                "required": confirmed.required_approvals,
                "quorum_met": quorum,
            },
            event="draft.approved" if quorum else "draft.approval_recorded",
            channel=channel,
        )
    except VersionConflict:
        current = deps.store.get(draft_id)
        if principal.name in lifecycle.approvers(current):
            return current  # the concurrent twin of this request won; one approval, one job
        raise Conflict(f"draft {draft_id} changed while confirming; re-read it and try again") from None
    if quorum:
        # The approved draft is the durable record; if this enqueue is lost, the sweep re-enqueues it.
        queue.enqueue_apply(confirmed.id, confirmed.version)
    return confirmed


def decide_at_once(
    *,
    deps: CoreDeps,
    principal: Principal,
    draft_id: str,
    version: int,
    decision: Literal["approve", "reject"],
    reason: str | None,
    channel: Channel,
    queue: ApplyQueue,
) -> Draft:
    """One decision in one call, for a channel whose own system already ran the two steps with the human
    (the signed decision webhook): `approve` arms and confirms as that human. Every other rule holds —
    who may decide, four eyes, policy at confirm.

    `version` is the draft version the human decided on; any other is a VersionConflict (409).
    """
    current = visible_draft(deps, principal, draft_id)
    if current.version != version:
        raise VersionConflict(
            f"draft {current.id} is at version {current.version}, not {version}; "
            "it changed since your approver saw it — show them the current draft and decide again"
        )
    if decision == "reject":
        if reason is None:
            raise InvalidInput("a reject needs a reason")
        return reject(deps=deps, principal=principal, draft_id=draft_id, reason=reason, channel=channel)
    try:
        armed = arm(
            deps=deps, principal=principal, draft_id=draft_id, if_match=f'"{version}"', channel=channel
        )
    except PreconditionFailed as exc:  # it moved between our read and the arm
        raise VersionConflict(exc.message) from None
    return confirm(
        deps=deps,
        principal=principal,
        draft_id=draft_id,
        confirm_token=armed.confirm_token,
        channel=channel,
        queue=queue,
    )


def lapse_arms(deps: CoreDeps, draft: Draft, *, actor: str, now: datetime) -> Draft | None:
    """Every arm's window has passed: back to pending, approvals so far kept (ledger `arm_expired`).

    Whoever notices first does it — a late confirm or the executor's sweep — with one entry shape.
    None when a concurrent change moved the draft on first (another lapse or a fresh arm): that stands.
    """
    try:
        disarmed = lifecycle.disarm(draft, now=now)
        return commit(
            deps,
            draft,
            disarmed,
            actor=actor,
            action="arm_expired",
            details={"version": disarmed.version, "armed_by": [a.principal for a in draft.arms]},
            event="draft.disarmed",
        )
    except Conflict:  # VersionConflict is one; lifecycle raises it too when an arm is live again
        return None


def reject(*, deps: CoreDeps, principal: Principal, draft_id: str, reason: str, channel: Channel) -> Draft:
    draft = visible_draft(deps, principal, draft_id)
    options = options_for(deps, principal, draft)
    if draft.status is DraftStatus.REJECTED and options.decides:
        return draft  # idempotent retry
    require(options, "reject")
    rejected = lifecycle.reject(draft, principal=principal.name, reason=reason, now=deps.clock.now())
    try:
        return commit(
            deps,
            draft,
            rejected,
            actor=principal.name,
            action="reject",
            details={"channel": channel, "reason": reason},
            event="draft.rejected",
            channel=channel,
        )
    except VersionConflict:
        current = deps.store.get(draft_id)
        if current.status is DraftStatus.REJECTED:
            return current
        raise Conflict(f"draft {draft_id} changed while rejecting; re-read it and try again") from None


def _rollback_changes(
    deps: CoreDeps, principal: Principal, draft_id: str
) -> tuple[Draft, tuple[Change, ...]]:
    """The applied draft and the changes that undo it: before = the live value now, after = the original
    before."""
    original = visible_draft(deps, principal, draft_id)
    require(options_for(deps, principal, original), "rollback")
    applied = original.applied_changes
    if original.status is DraftStatus.APPLIED:
        applied = tuple(range(len(original.changes)))
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
