"""Pure regressions from the money-path review: exact percentages, rollbacks, shifts, enables."""

import pytest

from spendgate_core.domain.models import CampaignStatus, Change, ChangeField, DraftStatus
from spendgate_core.domain.policy import Limits, PolicyValues, check_change
from spendgate_core.errors import PolicyViolation

from .factories import budget_draft

LIMITS = Limits.of(PolicyValues(), "USD")


def budget(before: int, after: int) -> Change:
    return Change(entity_id="cmp_us_001", field=ChangeField.DAILY_BUDGET, before=before, after=after)


def test_max_change_pct_compares_exactly_not_after_rounding() -> None:
    with pytest.raises(PolicyViolation, match=r"\+50.05% on cmp_us_001 exceeds 50%"):
        check_change(budget(100_000, 150_049), limits=LIMITS)  # 50.049 % used to round to 50.0 and pass
    check_change(budget(100_000, 150_000), limits=LIMITS)


def test_a_rollback_may_restore_a_large_cut() -> None:
    with pytest.raises(PolicyViolation, match="max_change_pct"):
        check_change(budget(50_000, 100_000), limits=LIMITS)
    check_change(budget(50_000, 100_000), limits=LIMITS, restores=True)
    with pytest.raises(PolicyViolation, match="max_daily_budget"):  # every other rule still holds
        check_change(budget(50_000, 2_000_000), limits=LIMITS, restores=True)


def test_a_half_applied_draft_keeps_charging_what_it_wrote() -> None:
    shift = budget_draft(before=10_000, after=12_000).model_copy(
        update={
            "changes": (budget(50_000, 40_000), budget(10_000, 20_000)),
            "status": DraftStatus.APPLY_FAILED,
        }
    )
    assert shift.model_copy(update={"applied_changes": (0,)}).applied_increase() == 0
    assert shift.model_copy(update={"applied_changes": (1,)}).applied_increase() == 10_000
    assert shift.gross_increase == 10_000  # four eyes weighs the increase, not the net zero


def test_enabling_counts_its_budget_basis() -> None:
    enable = Change(
        entity_id="cmp_us_002",
        field=ChangeField.STATUS,
        before="PAUSED",
        after=CampaignStatus.ENABLED.value,
        budget_basis=6_500,
    )
    draft = budget_draft().model_copy(update={"changes": (enable,), "status": DraftStatus.APPLIED})
    assert draft.gross_increase >= 6_500
