"""What the console shows, from pure core objects: formatting, the policy panel, the envelope bar and which
decision buttons a human is offered (core still decides; this only avoids offering what core refuses)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from spendgate_approvals.console.formatting import countdown, duration, signed_money, until
from spendgate_approvals.console.policy_report import policy_report
from spendgate_approvals.console.presenters import change_summary, decision_control, envelope, queue_row
from spendgate_approvals.console.sessions import PendingConfirm
from spendgate_core.domain.models import (
    Actor,
    Approval,
    Arm,
    Change,
    ChangeField,
    Draft,
    DraftKind,
    DraftStatus,
    Impact,
)
from spendgate_core.domain.policy import Limits, PolicyValues
from spendgate_core.domain.principals import Principal

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIMITS = Limits.of(PolicyValues(), "USD")  # 50 %, 10000.00 max, 2000.00 envelope, 500.00 four-eyes


def budget_draft(before: int, after: int, **update: object) -> Draft:
    draft = Draft(
        id="drf_01M89E8SSVD8RS09437DW2G6CA",
        account_id="acc_us_001",
        platform="adsim",
        kind=DraftKind.BUDGET_CHANGE,
        changes=(Change(entity_id="cmp_us_004", field=ChangeField.DAILY_BUDGET, before=before, after=after),),
        impact=Impact(daily_budget_delta=after - before, currency="USD"),
        reason="more reach",
        proposed_by=Actor(name="claude", kind="agent"),
        created_at=NOW - timedelta(minutes=3),
        expires_at=NOW + timedelta(hours=47),
        required_approvals=2 if after - before > 50_000 else 1,
    )
    return draft.model_copy(update=update)


def human(name: str, *roles: str, accounts: tuple[str, ...] = ("*",)) -> Principal:
    return Principal(
        name=name,
        kind="human",
        token_sha256="0" * 64,
        roles=roles,
        accounts=accounts,
    )


ALICE = human("alice@example.com", "approver")


def test_money_durations_and_countdowns_read_naturally() -> None:
    assert signed_money(5_000, "USD") == "+50.00 USD"
    assert signed_money(-1_250, "EUR") == "-12.50 EUR"
    assert signed_money(0, "USD") == "0.00 USD"
    assert signed_money(500, "JPY") == "+500 JPY"
    assert [duration(s) for s in (0, 59, 60, 3599, 3600, 3660, 86_399, 86_400, 90_000)] == [
        "0 s",
        "59 s",
        "1 min",
        "59 min",
        "1 h",
        "1 h 1 min",
        "23 h 59 min",
        "1 d",
        "1 d 1 h",
    ]
    assert until(NOW + timedelta(minutes=5), NOW) == "in 5 min"
    assert until(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert [countdown(s) for s in (120, 119.6, 61, 9, 0, -3)] == [
        "2:00",
        "1:59",
        "1:01",
        "0:09",
        "0:00",
        "0:00",
    ]


def test_queue_rows_summarise_a_draft() -> None:
    draft = budget_draft(10_000, 15_000)
    assert change_summary(draft) == "cmp_us_004 daily budget 100.00 USD → 150.00 USD"
    row = queue_row(draft, now=NOW)
    assert (row.impact, row.age, row.approvals, row.expires, row.status_label) == (
        "+50.00 USD",
        "3 min ago",
        "0 of 1",
        "in 1 d 23 h",
        "Pending",
    )
    assert queue_row(draft.model_copy(update={"status": DraftStatus.APPLIED}), now=NOW).expires == ""


def test_the_policy_panel_passes_a_draft_within_every_rule() -> None:
    report = {
        r.rule: r
        for r in policy_report(budget_draft(10_000, 14_000), limits=LIMITS, envelope_used=0, now=NOW)
    }
    assert [
        report[r].outcome for r in ("min_daily_budget", "max_daily_budget", "max_change_pct", "envelope_24h")
    ] == ["pass"] * 4
    assert report["max_change_pct"].detail == "largest change +40%, limit 50%"
    assert report["max_daily_budget"].detail == "highest new budget 140.00 USD, limit 10000.00 USD"
    assert report["second_approver_above"].outcome == "info"
    assert "one approver is enough" in report["second_approver_above"].detail
    assert report["draft_ttl_hours"].outcome == "pass"


def test_the_policy_panel_passes_a_rollback_that_undoes_a_deep_cut() -> None:
    # +66.67 % puts back a value humans approved before: core does not apply the change limit to it.
    rollback = budget_draft(6_000, 10_000, kind=DraftKind.ROLLBACK)
    report = {r.rule: r for r in policy_report(rollback, limits=LIMITS, envelope_used=0, now=NOW)}
    assert report["max_change_pct"].outcome == "pass"
    assert "does not apply" in report["max_change_pct"].detail


def test_the_policy_panel_names_the_failing_rule_and_does_not_guess_the_rest() -> None:
    # +80 %: core stops at max_change_pct; min and max budget were checked before it and passed.
    over = {
        r.rule: r
        for r in policy_report(budget_draft(10_000, 18_000), limits=LIMITS, envelope_used=0, now=NOW)
    }
    assert over["max_change_pct"].outcome == "fail"
    assert over["max_change_pct"].detail == "+80% on cmp_us_004 exceeds 50%"
    assert over["min_daily_budget"].outcome == "unchecked" and over["max_daily_budget"].outcome == "unchecked"

    full = {
        r.rule: r
        for r in policy_report(budget_draft(100_000, 140_000), limits=LIMITS, envelope_used=180_000, now=NOW)
    }
    assert full["envelope_24h"].outcome == "fail" and "only 200.00 USD" in full["envelope_24h"].detail
    assert full["second_approver_above"].detail.startswith("one approver")  # +400 is not above 500

    expired = policy_report(
        budget_draft(10_000, 11_000), limits=LIMITS, envelope_used=0, now=NOW + timedelta(days=2)
    )
    assert {r.rule: r.outcome for r in expired}["draft_ttl_hours"] == "fail"


def test_a_decrease_uses_no_envelope() -> None:
    report = {
        r.rule: r
        for r in policy_report(budget_draft(10_000, 6_000), limits=LIMITS, envelope_used=999_999, now=NOW)
    }
    assert report["envelope_24h"].outcome == "pass" and "no increase" in report["envelope_24h"].detail
    bar = envelope(budget_draft(10_000, 6_000), limits=LIMITS, used=0)
    assert (bar.this_draft, bar.used_pct, bar.draft_pct, bar.over) == ("0.00 USD", 0, 0, False)


def test_the_envelope_bar_moves_in_visible_steps() -> None:
    small = envelope(
        budget_draft(10_000, 10_100), limits=LIMITS, used=1_000
    )  # 10.00 used, 1.00 for this draft
    assert (small.used_pct, small.draft_pct) == (5, 5)  # tiny amounts still show
    full = envelope(budget_draft(100_000, 150_000), limits=LIMITS, used=180_000)
    assert (full.used, full.left, full.this_draft, full.over) == (
        "1800.00 USD",
        "200.00 USD",
        "500.00 USD",
        True,
    )
    assert full.used_pct + full.draft_pct == 100
    applied = envelope(budget_draft(10_000, 15_000, status=DraftStatus.APPLIED), limits=LIMITS, used=5_000)
    assert applied.this_draft == "0.00 USD"  # already counted in `used`


def test_decision_buttons_follow_who_is_looking() -> None:
    draft = budget_draft(10_000, 15_000)
    assert decision_control(draft, principal=ALICE, pending=None, now=NOW).mode == "arm"

    viewer = decision_control(draft, principal=human("v@example.com", "viewer"), pending=None, now=NOW)
    assert (viewer.mode, viewer.can_reject, viewer.can_rollback) == ("none", False, False)
    assert viewer.note and "approver or admin role" in viewer.note
    elsewhere = human("carol@example.com", "admin", accounts=("acc_eu_002",))
    assert decision_control(draft, principal=elsewhere, pending=None, now=NOW).mode == "none"

    own = draft.model_copy(update={"proposed_by": Actor(name="alice@example.com", kind="human")})
    mine = decision_control(own, principal=ALICE, pending=None, now=NOW)
    assert mine.mode == "none" and mine.note and "different approver" in mine.note

    late = decision_control(draft, principal=ALICE, pending=None, now=NOW + timedelta(days=2))
    assert late.mode == "none" and late.note and late.note.startswith("This draft expired")


def test_confirm_is_offered_only_with_this_sessions_live_arm() -> None:
    token = "the-confirm-token"
    arm = Arm(
        principal="alice@example.com",
        channel="console",
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        armed_version=2,
        armed_at=NOW - timedelta(seconds=30),
        confirm_before=NOW + timedelta(seconds=90),
    )
    armed = budget_draft(10_000, 15_000, status=DraftStatus.ARMED, version=2, arms=(arm,))
    pending = PendingConfirm(token=token, confirm_before=arm.confirm_before)
    control = decision_control(armed, principal=ALICE, pending=pending, now=NOW)
    assert (control.mode, control.seconds_left, control.can_reject) == ("confirm", 90, True)
    # The session lost its token, or holds one from an older arm: arm again.
    assert decision_control(armed, principal=ALICE, pending=None, now=NOW).mode == "arm"
    stale = PendingConfirm(token="older", confirm_before=arm.confirm_before)
    assert decision_control(armed, principal=ALICE, pending=stale, now=NOW).mode == "arm"
    # The window has passed.
    assert (
        decision_control(armed, principal=ALICE, pending=pending, now=NOW + timedelta(seconds=91)).mode
        == "arm"
    )
    # Someone else's arm is theirs to confirm, not alice's.
    assert (
        decision_control(armed, principal=human("bob@example.com", "approver"), pending=pending, now=NOW).mode
        == "arm"
    )


def test_after_approving_a_four_eyes_draft_only_reject_is_left() -> None:
    approval = Approval(principal="alice@example.com", channel="slack", armed_at=NOW, confirmed_at=NOW)
    draft = budget_draft(100_000, 160_000, approvals=(approval,))
    control = decision_control(draft, principal=ALICE, pending=None, now=NOW)
    assert control.mode == "none" and control.can_reject
    assert control.note == "You approved this draft. It needs 1 more approval from someone else."


def test_rollback_is_offered_on_applied_changes_only() -> None:
    applied = budget_draft(10_000, 15_000, status=DraftStatus.APPLIED)
    assert decision_control(applied, principal=ALICE, pending=None, now=NOW).can_rollback
    done = applied.model_copy(update={"rolled_back_by": "drf_01M89E8SSVD8RS09437DW2G6CB"})
    assert not decision_control(done, principal=ALICE, pending=None, now=NOW).can_rollback
    failed = budget_draft(10_000, 15_000, status=DraftStatus.APPLY_FAILED)
    assert not decision_control(failed, principal=ALICE, pending=None, now=NOW).can_rollback
    partly = failed.model_copy(update={"applied_changes": (0,)})
    assert decision_control(partly, principal=ALICE, pending=None, now=NOW).can_rollback
    viewer = human("v@example.com", "viewer")
    assert not decision_control(applied, principal=viewer, pending=None, now=NOW).can_rollback
