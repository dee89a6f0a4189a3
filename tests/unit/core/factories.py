"""Small builders for domain objects in pure unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spendgate_core.domain.ids import new_draft_id
from spendgate_core.domain.models import Actor, Change, ChangeField, Draft, DraftKind, Impact

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def budget_draft(
    *,
    before: int = 10_000,
    after: int = 12_000,
    required: int = 1,
    account: str = "acc_us_001",
    campaign: str = "cmp_us_001",
    proposer: str = "claude",
    at: datetime = T0,
) -> Draft:
    return Draft(
        id=new_draft_id(at),
        account_id=account,
        platform="adsim",
        kind=DraftKind.BUDGET_CHANGE,
        changes=(Change(entity_id=campaign, field=ChangeField.DAILY_BUDGET, before=before, after=after),),
        impact=Impact(daily_budget_delta=after - before, currency="USD"),
        reason="test",
        proposed_by=Actor(name=proposer, kind="agent"),
        created_at=at,
        expires_at=at + timedelta(hours=48),
        required_approvals=required,
    )
