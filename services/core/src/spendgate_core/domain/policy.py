"""Policy: the business's limits on drafts, loaded from TOML with per-account overrides.

Rules are checked when a draft is proposed, again at confirm, and again by the worker just before it
writes. A refusal names the rule and its numbers, e.g. `max_change_pct: +80% exceeds 50%`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spendgate_core.domain.models import Change, ChangeField, Draft, DraftKind
from spendgate_core.domain.money import format_money, to_minor
from spendgate_core.errors import ConfigError, PolicyViolation


class PolicyValues(BaseModel):
    """One account's effective limits. Money is a decimal string in the account currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_change_pct: Decimal = Field(default=Decimal(50), gt=0)
    max_daily_budget: Decimal = Field(default=Decimal("10000.00"), gt=0)
    envelope_24h: Decimal = Field(default=Decimal("2000.00"), ge=0)
    second_approver_above: Decimal = Field(default=Decimal("500.00"), ge=0)
    draft_ttl_hours: int = Field(default=48, gt=0, le=24 * 30)
    arm_window_seconds: int = Field(default=120, ge=10, le=3600)
    max_pending_drafts: int = Field(default=25, gt=0, le=10_000)


class _Overrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_change_pct: Decimal | None = Field(default=None, gt=0)
    max_daily_budget: Decimal | None = Field(default=None, gt=0)
    envelope_24h: Decimal | None = Field(default=None, ge=0)
    second_approver_above: Decimal | None = Field(default=None, ge=0)
    draft_ttl_hours: int | None = Field(default=None, gt=0, le=24 * 30)
    arm_window_seconds: int | None = Field(default=None, ge=10, le=3600)
    max_pending_drafts: int | None = Field(default=None, gt=0, le=10_000)


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: PolicyValues = PolicyValues()
    accounts: dict[str, _Overrides] = {}


class PolicyBook:
    """Effective policy per account: the defaults with that account's overrides applied."""

    def __init__(self, defaults: PolicyValues, overrides: dict[str, _Overrides] | None = None) -> None:
        self._defaults = defaults
        self._overrides = overrides or {}

    @classmethod
    def from_toml(cls, text: str, *, source: str) -> PolicyBook:
        try:
            parsed = _PolicyFile.model_validate(tomllib.loads(text))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            first = " ".join(str(exc).splitlines()[:3])
            raise ConfigError(f"policy file {source} is malformed: {first}") from None
        return cls(parsed.defaults, parsed.accounts)

    @classmethod
    def load(cls, path: Path | None) -> PolicyBook:
        """The file's policy, or the documented defaults when no file is configured."""
        if path is None:
            return cls(PolicyValues())
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"policy file {path} cannot be read: {exc.strerror}") from None
        return cls.from_toml(text, source=str(path))

    def for_account(self, account_id: str) -> PolicyValues:
        override = self._overrides.get(account_id)
        if override is None:
            return self._defaults
        return self._defaults.model_copy(update=override.model_dump(exclude_none=True))


@dataclass(frozen=True)
class Limits:
    """An account's policy with money converted to minor units of its currency."""

    currency: str
    max_change_pct: Decimal
    max_daily_budget: int
    envelope_24h: int
    second_approver_above: int
    draft_ttl_hours: int
    arm_window_seconds: int
    max_pending_drafts: int

    @classmethod
    def of(cls, values: PolicyValues, currency: str) -> Limits:
        try:
            return cls(
                currency=currency,
                max_change_pct=values.max_change_pct,
                max_daily_budget=to_minor(values.max_daily_budget, currency),
                envelope_24h=to_minor(values.envelope_24h, currency),
                second_approver_above=to_minor(values.second_approver_above, currency),
                draft_ttl_hours=values.draft_ttl_hours,
                arm_window_seconds=values.arm_window_seconds,
                max_pending_drafts=values.max_pending_drafts,
            )
        except Exception as exc:  # an amount the account currency cannot represent, e.g. "0.50" for JPY
            raise ConfigError(f"policy amounts do not fit {currency}: {exc}") from None


def required_approvals(*, increase: int, limits: Limits) -> int:
    """Four eyes above the threshold: the increase must exceed it strictly to need a second human."""
    return 2 if increase > limits.second_approver_above else 1


def check_change(change: Change, *, limits: Limits, restores: bool = False) -> None:
    """Per-change rules: budgets stay above zero, under the ceiling, within the change percentage.

    `restores`: the change puts back a value a human approved before (a rollback), so the percentage
    rule does not apply — undoing a 50 % cut is +100 %, and refusing it would make the cut permanent.
    """
    if change.field is not ChangeField.DAILY_BUDGET:
        return
    before, after = int(change.before), int(change.after)
    money = limits.currency
    if after <= 0:
        raise PolicyViolation(
            "min_daily_budget", f"a daily budget must stay above zero (got {format_money(after, money)})"
        )
    if after > limits.max_daily_budget:
        raise PolicyViolation(
            "max_daily_budget",
            f"{format_money(after, money)} for {change.entity_id} "
            f"exceeds {format_money(limits.max_daily_budget, money)}",
        )
    # Compared exactly in integers; the percentage is rounded only for the message.
    if not restores and before > 0 and abs(after - before) * 100 > limits.max_change_pct * before:
        pct = (Decimal(after - before) * 100 / Decimal(before)).quantize(Decimal("0.01"))
        sign = "+" if pct > 0 else ""
        raise PolicyViolation(
            "max_change_pct",
            f"{sign}{pct.normalize():f}% on {change.entity_id} exceeds "
            f"{limits.max_change_pct.normalize():f}%",
        )


def check_envelope(*, increase: int, used: int, limits: Limits) -> None:
    if increase <= 0:
        return  # decreases and pauses need approval but never consume the envelope
    if used + increase > limits.envelope_24h:
        money = limits.currency
        left = max(0, limits.envelope_24h - used)
        raise PolicyViolation(
            "envelope_24h",
            f"this draft adds {format_money(increase, money)} but only {format_money(left, money)} of the "
            f"24h envelope ({format_money(limits.envelope_24h, money)}) is left",
        )


def restores_approved_values(draft: Draft) -> bool:
    """A rollback puts back values humans approved before: the change percentage does not bind it."""
    return draft.kind is DraftKind.ROLLBACK


def check_changes(draft: Draft, *, limits: Limits) -> None:
    """The per-change rules for every change of the draft, a rollback's exemption included: at drafting,
    at confirm and in the worker just before it writes."""
    for change in draft.changes:
        check_change(change, limits=limits, restores=restores_approved_values(draft))


def check_draft(draft: Draft, *, limits: Limits, envelope_used: int) -> None:
    """Every rule that depends on the draft itself; raises the first PolicyViolation."""
    check_changes(draft, limits=limits)
    check_envelope(increase=draft.increase, used=envelope_used, limits=limits)
