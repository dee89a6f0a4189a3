"""The policy panel of a draft page: every rule re-checked with core's own policy functions, with numbers.

Pass or fail always comes from `spendgate_core.domain.policy`; this module only words the outcome. Core
stops at a change's first failing rule, so the later rules of that change are reported as not checked
rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from spendgate_approvals.console.formatting import until
from spendgate_core.domain.models import ChangeField, Draft
from spendgate_core.domain.money import format_money
from spendgate_core.domain.policy import Limits, check_change, check_envelope, restores_approved_values
from spendgate_core.errors import PolicyViolation

Outcome = Literal["pass", "fail", "info", "unchecked"]
_CHANGE_RULES = ("min_daily_budget", "max_daily_budget", "max_change_pct")


@dataclass(frozen=True)
class RuleResult:
    rule: str
    outcome: Outcome
    detail: str


def _pct(before: int, after: int) -> Decimal:
    return (Decimal(after - before) * 100 / Decimal(before)).quantize(Decimal("0.1"))


def _passing_detail(rule: str, draft: Draft, limits: Limits) -> str:
    budgets = [c for c in draft.changes if c.field is ChangeField.DAILY_BUDGET]
    money = draft.currency
    if rule == "min_daily_budget":
        return "every new daily budget stays above zero"
    if rule == "max_daily_budget":
        highest = format_money(max(int(c.after) for c in budgets), money)
        return f"highest new budget {highest}, limit {format_money(limits.max_daily_budget, money)}"
    if restores_approved_values(draft):
        return "a rollback puts back approved values, so the change limit does not apply"
    changes = [_pct(int(c.before), int(c.after)) for c in budgets if int(c.before) > 0]
    largest = max(changes, key=abs, default=Decimal(0))
    sign = "+" if largest > 0 else ""
    return f"largest change {sign}{largest.normalize():f}%, limit {limits.max_change_pct.normalize():f}%"


def _change_rules(draft: Draft, limits: Limits) -> list[RuleResult]:
    budgets = [c for c in draft.changes if c.field is ChangeField.DAILY_BUDGET]
    if not budgets:
        return [RuleResult("budget rules", "info", "this draft changes no budget")]
    failed: dict[str, str] = {}
    for change in budgets:
        try:
            check_change(change, limits=limits, restores=restores_approved_values(draft))
        except PolicyViolation as violation:
            failed.setdefault(violation.rule, violation.message.removeprefix(f"{violation.rule}: "))
    results = []
    for rule in _CHANGE_RULES:
        if rule in failed:
            results.append(RuleResult(rule, "fail", failed[rule]))
        elif failed:
            results.append(
                RuleResult(rule, "unchecked", "not checked for every change: another rule failed first")
            )
        else:
            results.append(RuleResult(rule, "pass", _passing_detail(rule, draft, limits)))
    return results


def _envelope_rule(draft: Draft, limits: Limits, envelope_used: int) -> RuleResult:
    money = draft.currency
    try:
        check_envelope(increase=draft.increase, used=envelope_used, limits=limits)
    except PolicyViolation as violation:
        return RuleResult("envelope_24h", "fail", violation.message.removeprefix("envelope_24h: "))
    if draft.increase <= 0:
        return RuleResult("envelope_24h", "pass", "no increase, so none of the 24 h envelope is used")
    return RuleResult(
        "envelope_24h",
        "pass",
        f"adds {format_money(draft.increase, money)}; {format_money(envelope_used, money)} of "
        f"{format_money(limits.envelope_24h, money)} already used in the last 24 h",
    )


def policy_report(draft: Draft, *, limits: Limits, envelope_used: int, now: datetime) -> list[RuleResult]:
    """Each rule as it stands now, for a draft that is still to be decided or applied."""
    money = draft.currency
    needed = draft.required_approvals
    threshold = format_money(limits.second_approver_above, money)
    increase = format_money(draft.increase, money)
    approvers = (
        f"needs two different approvers: the increase of {increase} is above {threshold}"
        if needed > 1
        else f"one approver is enough: the increase of {increase} is not above {threshold}"
    )
    expiry = (
        RuleResult("draft_ttl_hours", "pass", f"expires {until(draft.expires_at, now)}")
        if now < draft.expires_at
        else RuleResult("draft_ttl_hours", "fail", f"expired {until(draft.expires_at, now)}")
    )
    return [
        *_change_rules(draft, limits),
        _envelope_rule(draft, limits, envelope_used),
        RuleResult("second_approver_above", "info", approvers),
        expiry,
        RuleResult("arm_window_seconds", "info", f"confirm within {limits.arm_window_seconds} s of arming"),
    ]
