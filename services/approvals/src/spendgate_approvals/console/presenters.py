"""What the console's pages show, built from core objects: rows, diffs, envelope use and the decision control.

Nothing here decides anything: which of arm, confirm, reject and roll back a human may do, and why not,
is core's decision query (`spendgate_core.usecases.decisions`), the same one the use cases enforce; the
control below renders it as buttons and its reason as a note.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from spendgate_approvals.console.formatting import (
    FIELD_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    ago,
    signed_money,
    timestamp,
    until,
    value_text,
)
from spendgate_approvals.console.sessions import PendingConfirm
from spendgate_core.domain.lifecycle import approvers, live_arms
from spendgate_core.domain.models import OPEN_STATUSES, ChangeField, Draft, DraftStatus
from spendgate_core.domain.money import format_money
from spendgate_core.domain.platform import Campaign
from spendgate_core.domain.policy import Limits
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import SpendgateError
from spendgate_core.usecases.decisions import decision_options
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.queries import visible_drafts

# The queue's default: what still needs a human.
OPEN_FILTER = "open"
ALL_FILTER = "all"
STATUS_FILTERS: dict[str, tuple[DraftStatus, ...] | None] = {
    OPEN_FILTER: (DraftStatus.PENDING, DraftStatus.ARMED),
    ALL_FILTER: None,
    **{s.value: (s,) for s in DraftStatus},
}


def queue_drafts(
    deps: CoreDeps,
    principal: Principal,
    *,
    account_id: str | None,
    statuses: tuple[DraftStatus, ...] | None,
    limit: int,
) -> list[Draft]:
    """The drafts the principal sees, newest first, in any of `statuses` (None: every status)."""
    if statuses is None:
        return visible_drafts(deps=deps, principal=principal, account_id=account_id, status=None, limit=limit)
    lists = [
        visible_drafts(deps=deps, principal=principal, account_id=account_id, status=s, limit=limit)
        for s in statuses
    ]
    merged = heapq.merge(*lists, key=lambda d: d.created_at, reverse=True)
    return [draft for draft, _ in zip(merged, range(limit), strict=False)]


def change_summary(draft: Draft) -> str:
    """`cmp_us_004 daily budget 100.00 USD → 150.00 USD` (and `+ 1 more` for multi-change drafts)."""
    first = draft.changes[0]
    text = (
        f"{first.entity_id} {FIELD_LABELS[first.field]} {value_text(first, first.before, draft.currency)} → "
        f"{value_text(first, first.after, draft.currency)}"
    )
    more = len(draft.changes) - 1
    return f"{text} + {more} more" if more else text


@dataclass(frozen=True)
class QueueRow:
    id: str
    kind: str
    account_id: str
    summary: str
    impact: str
    age: str
    approvals: str
    expires: str
    status: str
    status_label: str


def queue_row(draft: Draft, *, now: datetime) -> QueueRow:
    open_ = draft.status in OPEN_STATUSES
    return QueueRow(
        id=draft.id,
        kind=KIND_LABELS[draft.kind],
        account_id=draft.account_id,
        summary=change_summary(draft),
        impact=signed_money(draft.impact.daily_budget_delta, draft.currency),
        age=ago(draft.created_at, now),
        approvals=f"{len(approvers(draft))} of {draft.required_approvals}",
        expires=until(draft.expires_at, now) if open_ else "",
        status=draft.status.value,
        status_label=STATUS_LABELS[draft.status],
    )


@dataclass(frozen=True)
class ChangeRow:
    entity_id: str
    name: str | None
    field: str
    before: str
    after: str
    delta: str | None
    live: str | None  # the platform's value now; None when it could not be read
    moved: bool  # the live value is no longer `before`: applying would end `stale`


def live_campaigns(deps: CoreDeps, draft: Draft) -> dict[str, Campaign]:
    """The draft's campaigns as the platform has them now; those that cannot be read are left out."""
    found: dict[str, Campaign] = {}
    for entity_id in dict.fromkeys(c.entity_id for c in draft.changes):
        try:
            found[entity_id] = deps.reader.get_campaign(draft.account_id, entity_id)
        except SpendgateError:
            continue  # the page still shows the draft; the live column says "unavailable"
    return found


def change_rows(draft: Draft, live: dict[str, Campaign]) -> list[ChangeRow]:
    rows = []
    money = draft.currency
    for change in draft.changes:
        campaign = live.get(change.entity_id)
        now_value: int | str | None = None
        if campaign is not None:
            now_value = (
                campaign.daily_budget if change.field is ChangeField.DAILY_BUDGET else campaign.status.value
            )
        delta = (
            signed_money(int(change.after) - int(change.before), money)
            if change.field is ChangeField.DAILY_BUDGET
            else None
        )
        rows.append(
            ChangeRow(
                entity_id=change.entity_id,
                name=campaign.name if campaign else None,
                field=FIELD_LABELS[change.field],
                before=value_text(change, change.before, money),
                after=value_text(change, change.after, money),
                delta=delta,
                live=value_text(change, now_value, money) if now_value is not None else None,
                moved=now_value is not None and now_value not in (change.before, change.after),
            )
        )
    return rows


def _bar(part: int, whole: int) -> int:
    """A bar width in steps of 5 % (the stylesheet has a class per step; CSP forbids inline styles).

    Anything above zero shows at least one step, so a small use is still visible.
    """
    if part <= 0:
        return 0
    if whole <= 0:
        return 100
    return min(100, max(5, 5 * round(20 * part / whole)))


@dataclass(frozen=True)
class Envelope:
    cap: str
    used: str
    left: str
    this_draft: str
    used_pct: int
    draft_pct: int
    over: bool


def envelope(draft: Draft, *, limits: Limits, used: int) -> Envelope:
    """The account's rolling 24 h envelope and what this draft would take of it."""
    money = draft.currency
    cap = limits.envelope_24h
    counted = draft.status in OPEN_STATUSES | {DraftStatus.APPROVED}  # later states are already in `used`
    adds = draft.increase if counted else 0
    used_pct = _bar(used, cap)
    draft_pct = min(100 - used_pct, _bar(adds, cap))
    return Envelope(
        cap=format_money(cap, money),
        used=format_money(used, money),
        left=format_money(max(0, cap - used), money),
        this_draft=format_money(adds, money),
        used_pct=used_pct,
        draft_pct=draft_pct,
        over=used + adds > cap,
    )


@dataclass(frozen=True)
class ApprovalRow:
    principal: str
    channel: str
    armed_at: str
    confirmed_at: str


@dataclass(frozen=True)
class ArmRow:
    principal: str
    channel: str
    confirm_within: str


def approval_rows(draft: Draft) -> list[ApprovalRow]:
    return [
        ApprovalRow(a.principal, a.channel, timestamp(a.armed_at), timestamp(a.confirmed_at))
        for a in draft.approvals
    ]


def arm_rows(draft: Draft, *, now: datetime) -> list[ArmRow]:
    return [ArmRow(a.principal, a.channel, until(a.confirm_before, now)) for a in live_arms(draft, now=now)]


ControlMode = Literal["arm", "confirm", "none"]


@dataclass(frozen=True)
class Control:
    """Which decision buttons this human is offered on this draft, and why not when none are."""

    mode: ControlMode
    note: str | None = None
    can_reject: bool = False
    can_rollback: bool = False
    seconds_left: int = 0


def _mine(draft: Draft, principal: Principal, pending: PendingConfirm | None, now: datetime) -> int | None:
    """Seconds left on this human's live arm when the session holds its confirm token, else None."""
    if pending is None:
        return None
    digest = hashlib.sha256(pending.token.encode()).hexdigest()
    for arm in live_arms(draft, now=now):
        if arm.principal == principal.name and arm.token_sha256 == digest:
            return max(0, int((arm.confirm_before - now).total_seconds()))
    return None


def decision_control(
    draft: Draft,
    *,
    principal: Principal,
    pending: PendingConfirm | None,
    now: datetime,
    limits: Limits | None = None,
) -> Control:
    """Core's decision query, as buttons: confirm needs this session's own confirm token besides."""
    options = decision_options(draft, principal, now=now, limits=limits)
    can_reject, can_rollback = options["reject"].open, options["rollback"].open
    seconds = _mine(draft, principal, pending, now) if options["confirm"].open else None
    if seconds is not None:
        return Control("confirm", can_reject=can_reject, can_rollback=can_rollback, seconds_left=seconds)
    if options["arm"].open:
        return Control("arm", can_reject=can_reject, can_rollback=can_rollback)
    return Control("none", options.note, can_reject=can_reject, can_rollback=can_rollback)
