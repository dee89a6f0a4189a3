"""The domain: drafts, their changes and approvals, principals. Money is integer minor units."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DraftStatus(StrEnum):
    PENDING = "pending"
    ARMED = "armed"
    APPROVED = "approved"
    APPLYING = "applying"
    APPLIED = "applied"
    APPLY_FAILED = "apply_failed"
    STALE = "stale"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    ROLLED_BACK = "rolled_back"


# Open: a human may still decide. In flight: decided, not yet written. Both hold the field locks.
OPEN_STATUSES = frozenset({DraftStatus.PENDING, DraftStatus.ARMED})
IN_FLIGHT_STATUSES = frozenset({DraftStatus.APPROVED, DraftStatus.APPLYING})
# Where `Draft.applied_increase()` can be positive: only these hold a 24h envelope reservation.
RESERVING_STATUSES = frozenset(
    {DraftStatus.APPLYING, DraftStatus.APPLIED, DraftStatus.APPLY_FAILED, DraftStatus.ROLLED_BACK}
)
# Terminal states never change again. `applied` is not terminal: a rollback can move it to rolled_back.
TERMINAL_STATUSES = frozenset(
    {
        DraftStatus.APPLY_FAILED,
        DraftStatus.STALE,
        DraftStatus.REJECTED,
        DraftStatus.WITHDRAWN,
        DraftStatus.EXPIRED,
        DraftStatus.ROLLED_BACK,
    }
)


class DraftKind(StrEnum):
    BUDGET_CHANGE = "budget_change"
    BUDGET_SHIFT = "budget_shift"
    STATUS_CHANGE = "status_change"
    ROLLBACK = "rollback"


class CampaignStatus(StrEnum):
    ENABLED = "ENABLED"
    PAUSED = "PAUSED"


class ChangeField(StrEnum):
    DAILY_BUDGET = "daily_budget"
    STATUS = "status"


PrincipalKind = Literal["agent", "human"]
Channel = Literal["rest", "console", "slack", "webhook", "cli"]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(Model):
    """One field of one entity, from `before` (the live value when drafted) to `after`.

    Budgets are minor units (int); statuses are `ENABLED`/`PAUSED` (str).
    """

    entity_type: Literal["campaign"] = "campaign"
    entity_id: str
    field: ChangeField
    before: int | str
    after: int | str
    budget_basis: int | None = Field(
        default=None,
        description="for a status change: the daily budget its impact was computed from; the executor "
        "treats a different live budget as stale",
    )


class Impact(Model):
    daily_budget_delta: int
    currency: str


class Actor(Model):
    name: str
    kind: PrincipalKind


class Arm(Model):
    """Step one of a human's approval: a confirm token bound to (draft, version, human)."""

    principal: str
    channel: Channel
    token_sha256: str
    armed_version: int
    armed_at: datetime
    confirm_before: datetime


class Approval(Model):
    """A completed two-step approval by one human."""

    principal: str
    channel: Channel
    armed_at: datetime
    confirmed_at: datetime


class Draft(Model):
    id: str
    account_id: str
    platform: str
    kind: DraftKind
    changes: tuple[Change, ...]
    impact: Impact
    reason: str
    proposed_by: Actor
    status: DraftStatus = DraftStatus.PENDING
    version: int = 1
    required_approvals: int = 1
    arms: tuple[Arm, ...] = ()
    approvals: tuple[Approval, ...] = ()
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None = None
    approved_at: datetime | None = None
    applied_at: datetime | None = None
    decision_reason: str | None = None
    decided_by: str | None = None
    error: str | None = None
    applied_changes: tuple[int, ...] = Field(default=(), description="indexes of changes written upstream")
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    request_id: str | None = Field(
        default=None, description="the request that proposed it, for log correlation"
    )

    @property
    def currency(self) -> str:
        return self.impact.currency

    @property
    def increase(self) -> int:
        """What this draft consumes of the 24h envelope: its net daily-budget increase, never negative."""
        return max(0, self.impact.daily_budget_delta)

    @property
    def gross_increase(self) -> int:
        """The sum of every increase in the draft, ignoring offsetting decreases (what four eyes weighs)."""
        return max(self.increase, sum(max(0, change_delta(c)) for c in self.changes))

    def applied_increase(self) -> int:
        """The envelope this draft consumes given what was written: all of it, or its written part."""
        if self.status not in RESERVING_STATUSES:
            return 0
        if self.status is DraftStatus.APPLY_FAILED:
            return max(0, sum(change_delta(self.changes[i]) for i in self.applied_changes))
        return self.increase

    def field_keys(self) -> list[str]:
        return [f"{self.account_id}:{c.entity_id}:{c.field.value}" for c in self.changes]


def change_delta(change: Change) -> int:
    """The daily-budget change one change makes: a budget delta, or an enabled/paused budget."""
    if change.field is ChangeField.DAILY_BUDGET:
        return int(change.after) - int(change.before)
    basis = change.budget_basis or 0
    return basis if change.after == CampaignStatus.ENABLED.value else -basis
