"""How a draft looks from outside (tools, REST, CLI): money as decimal strings in major units."""

from __future__ import annotations

from typing import Any

from spendgate_core.domain.models import Change, ChangeField, Draft
from spendgate_core.domain.money import to_major


def change_view(change: Change, currency: str) -> dict[str, Any]:
    if change.field is ChangeField.DAILY_BUDGET:
        before, after = int(change.before), int(change.after)
        return {
            "entity_type": change.entity_type,
            "entity_id": change.entity_id,
            "field": change.field.value,
            "before": str(to_major(before, currency)),
            "after": str(to_major(after, currency)),
            "delta": str(to_major(after - before, currency)),
        }
    return {
        "entity_type": change.entity_type,
        "entity_id": change.entity_id,
        "field": change.field.value,
        "before": change.before,
        "after": change.after,
        "delta": None,
    }


def impact_view(draft: Draft) -> dict[str, Any]:
    return {
        "daily_budget_delta": str(to_major(draft.impact.daily_budget_delta, draft.currency)),
        "currency": draft.currency,
    }


def draft_view(draft: Draft, *, url: str | None = None) -> dict[str, Any]:
    currency = draft.currency
    return {
        "id": draft.id,
        "account_id": draft.account_id,
        "platform": draft.platform,
        "kind": draft.kind.value,
        "status": draft.status.value,
        "version": draft.version,
        "changes": [change_view(c, currency) for c in draft.changes],
        "impact": impact_view(draft),
        "reason": draft.reason,
        "proposed_by": draft.proposed_by.model_dump(),
        "required_approvals": draft.required_approvals,
        "approvals": [a.model_dump(mode="json") for a in draft.approvals],
        "armed_by": [
            {"principal": a.principal, "channel": a.channel, "confirm_before": a.confirm_before.isoformat()}
            for a in draft.arms
        ],
        "created_at": draft.created_at.isoformat(),
        "expires_at": draft.expires_at.isoformat(),
        "decided_at": draft.decided_at.isoformat() if draft.decided_at else None,
        "decided_by": draft.decided_by,
        "decision_reason": draft.decision_reason,
        "approved_at": draft.approved_at.isoformat() if draft.approved_at else None,
        "applied_at": draft.applied_at.isoformat() if draft.applied_at else None,
        "applied_changes": list(draft.applied_changes),
        "error": draft.error,
        "rollback_of": draft.rollback_of,
        "rolled_back_by": draft.rolled_back_by,
        "url": url,
    }
