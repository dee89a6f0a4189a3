"""The draft state machine as pure functions: each returns the next draft or raises.

Every state change bumps `version`; the store's compare-and-set on that version is what makes each
transition happen at most once under concurrency.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from spendgate_core.domain.models import OPEN_STATUSES, Approval, Arm, Channel, Draft, DraftStatus
from spendgate_core.errors import Conflict, Forbidden


def _bump(draft: Draft, **update: Any) -> Draft:
    return draft.model_copy(update={**update, "version": draft.version + 1})


def _require_open(draft: Draft, *, now: datetime, action: str) -> None:
    if draft.status not in OPEN_STATUSES:
        raise Conflict(f"draft {draft.id} is {draft.status.value}; it can no longer be {action}")
    if not in_time(draft, now=now):
        raise Conflict(f"draft {draft.id} expired at {draft.expires_at.isoformat()}; ask for a fresh draft")


def in_time(draft: Draft, *, now: datetime) -> bool:
    """Before `expires_at`: an open draft may still be decided (after it, only expired)."""
    return now < draft.expires_at


def live_arms(draft: Draft, *, now: datetime) -> tuple[Arm, ...]:
    return tuple(a for a in draft.arms if a.confirm_before > now)


def approvers(draft: Draft) -> set[str]:
    """Distinct humans who completed both steps; the same human twice counts once."""
    return {a.principal for a in draft.approvals}


def arm(
    draft: Draft, *, principal: str, channel: Channel, token: str, now: datetime, window_seconds: int
) -> Draft:
    """Step one: bind a confirm token to this draft version and this human, valid for the window."""
    _require_open(draft, now=now, action="armed")
    if principal in approvers(draft):
        raise Conflict(
            f"{principal} already approved draft {draft.id}; a different human must give the next approval"
        )
    new_arm = Arm(
        principal=principal,
        channel=channel,
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        armed_version=draft.version + 1,
        armed_at=now,
        confirm_before=now + timedelta(seconds=window_seconds),
    )
    others = tuple(a for a in live_arms(draft, now=now) if a.principal != principal)
    return _bump(draft, status=DraftStatus.ARMED, arms=(*others, new_arm))


def confirm(draft: Draft, *, principal: str, token: str, now: datetime) -> Draft:
    """Step two by the same human inside the window; approved once the quorum of humans is met."""
    _require_open(draft, now=now, action="confirmed")
    mine = next((a for a in live_arms(draft, now=now) if a.principal == principal), None)
    if mine is None:
        raise Conflict(
            f"{principal} has no live arm on draft {draft.id} (the arm window may have passed); arm it again"
        )
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(digest, mine.token_sha256):
        raise Forbidden("the confirm token does not match this draft and approver")
    approval = Approval(principal=principal, channel=mine.channel, armed_at=mine.armed_at, confirmed_at=now)
    approvals = (*draft.approvals, approval)
    remaining = tuple(a for a in live_arms(draft, now=now) if a.principal != principal)
    if len({a.principal for a in approvals}) >= draft.required_approvals:
        return _bump(
            draft,
            status=DraftStatus.APPROVED,
            approvals=approvals,
            arms=(),
            approved_at=now,
            decided_at=now,
        )
    status = DraftStatus.ARMED if remaining else DraftStatus.PENDING
    return _bump(draft, status=status, approvals=approvals, arms=remaining)


def _close(draft: Draft, status: DraftStatus, *, principal: str, reason: str, now: datetime) -> Draft:
    return _bump(draft, status=status, arms=(), decided_at=now, decided_by=principal, decision_reason=reason)


def reject(draft: Draft, *, principal: str, reason: str, now: datetime) -> Draft:
    _require_open(draft, now=now, action="rejected")
    return _close(draft, DraftStatus.REJECTED, principal=principal, reason=reason, now=now)


def withdraw(draft: Draft, *, principal: str, reason: str, now: datetime) -> Draft:
    if draft.proposed_by.name != principal:
        raise Forbidden("only the principal who proposed a draft may withdraw it")
    _require_open(draft, now=now, action="withdrawn")
    return _close(draft, DraftStatus.WITHDRAWN, principal=principal, reason=reason, now=now)


def expire(draft: Draft, *, now: datetime) -> Draft:
    if draft.status not in OPEN_STATUSES or in_time(draft, now=now):
        raise Conflict(f"draft {draft.id} is not due to expire")
    return _bump(draft, status=DraftStatus.EXPIRED, arms=(), decided_at=now)


def disarm(draft: Draft, *, now: datetime) -> Draft:
    """The arm window passed for every armed human: back to pending, approvals so far kept."""
    if draft.status is not DraftStatus.ARMED or live_arms(draft, now=now):
        raise Conflict(f"draft {draft.id} has a live arm")
    return _bump(draft, status=DraftStatus.PENDING, arms=())


def begin_apply(draft: Draft) -> Draft:
    """Take the draft into `applying` (or re-take it after a crashed attempt)."""
    if draft.status not in {DraftStatus.APPROVED, DraftStatus.APPLYING}:
        raise Conflict(f"draft {draft.id} is {draft.status.value}, not approved")
    return _bump(draft, status=DraftStatus.APPLYING)


def record_progress(draft: Draft, *, applied_changes: tuple[int, ...]) -> Draft:
    return _bump(draft, applied_changes=applied_changes)


def mark_applied(draft: Draft, *, now: datetime, applied_changes: tuple[int, ...]) -> Draft:
    return _bump(
        draft, status=DraftStatus.APPLIED, applied_at=now, applied_changes=applied_changes, error=None
    )


def mark_stale(draft: Draft, *, now: datetime, error: str) -> Draft:
    return _bump(draft, status=DraftStatus.STALE, decided_at=draft.decided_at or now, error=error)


def mark_failed(draft: Draft, *, error: str, applied_changes: tuple[int, ...]) -> Draft:
    return _bump(draft, status=DraftStatus.APPLY_FAILED, error=error, applied_changes=applied_changes)


def mark_rolled_back(draft: Draft, *, rollback_id: str) -> Draft:
    if draft.status is not DraftStatus.APPLIED:
        raise Conflict(f"draft {draft.id} is {draft.status.value}; only an applied draft can be rolled back")
    return _bump(draft, status=DraftStatus.ROLLED_BACK, rolled_back_by=rollback_id)
