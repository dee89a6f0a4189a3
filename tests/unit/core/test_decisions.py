"""The decision query: which actions a principal may take on a draft, and every reason one is closed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import Actor, Approval, DraftStatus
from spendgate_core.domain.policy import Limits, PolicyValues
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import Conflict, Forbidden
from spendgate_core.usecases.decisions import (
    approvals_missing,
    decision_options,
    more_approvals,
    require,
)
from tests.unit.core.factories import T0, budget_draft

LIMITS = Limits.of(PolicyValues(), "USD")  # four eyes above 500.00


def human(name: str, *roles: str, accounts: tuple[str, ...] = ("*",)) -> Principal:
    return Principal.model_validate(
        {"name": name, "kind": "human", "token_sha256": "0" * 64, "roles": roles, "accounts": accounts}
    )


ALICE = human("alice", "approver")
BOB = human("bob", "admin")


def approved_by(*names: str) -> tuple[Approval, ...]:
    return tuple(Approval(principal=n, channel="rest", armed_at=T0, confirmed_at=T0) for n in names)


def test_an_approver_may_arm_and_reject_a_pending_draft_but_not_confirm_it_yet() -> None:
    options = decision_options(budget_draft(), ALICE, now=T0, limits=LIMITS)
    assert options.open_actions == ("arm", "reject")
    assert options.decides and options.approvals == 0 and options.approvals_needed == 1
    confirm = options["confirm"]
    assert confirm.refusal == "no_arm" and confirm.reason and "no live arm" in confirm.reason
    with pytest.raises(Conflict, match="no live arm"):
        require(options, "confirm")
    require(options, "arm")  # open: nothing raised


def test_arming_opens_confirm_until_the_window_passes() -> None:
    draft = budget_draft()
    armed = lifecycle.arm(draft, principal="alice", channel="rest", token="t", now=T0, window_seconds=120)
    options = decision_options(armed, ALICE, now=T0 + timedelta(seconds=60), limits=LIMITS)
    assert options.open_actions == ("arm", "confirm", "reject")
    assert options.confirm_before == T0 + timedelta(seconds=120)
    # Bob sees the same armed draft, but the arm is Alice's.
    assert decision_options(armed, BOB, now=T0, limits=LIMITS)["confirm"].refusal == "no_arm"
    late = decision_options(armed, ALICE, now=T0 + timedelta(seconds=121), limits=LIMITS)
    assert late["confirm"].refusal == "arm_lapsed" and "arm window" in (late["confirm"].reason or "")
    assert late["arm"].open and late.confirm_before is None


@pytest.mark.parametrize(
    ("principal", "refusal", "error", "words"),
    [
        (human("vera", "viewer"), "not_a_decider", Forbidden, "may read drafts of acc_us_001 but not decide"),
        (
            Principal(name="another-agent", kind="agent", token_sha256="0" * 64, accounts=("*",)),
            "not_a_decider",
            Forbidden,
            "approver or admin role",
        ),
        (human("carol", "admin", accounts=("acc_eu_002",)), "not_a_decider", Forbidden, "not decide"),
    ],
)
def test_who_may_not_decide_is_refused_for_every_decision(
    principal: Principal, refusal: str, error: type[Exception], words: str
) -> None:
    options = decision_options(budget_draft(), principal, now=T0, limits=LIMITS)
    assert options.open_actions == () and not options.decides
    for action in ("arm", "confirm", "reject", "rollback"):
        assert options[action].refusal == refusal and words in (options[action].reason or "")
    with pytest.raises(error, match=words):
        require(options, "arm")


def test_the_proposer_may_withdraw_but_never_decide() -> None:
    own = budget_draft().model_copy(update={"proposed_by": Actor(name="alice", kind="human")})
    options = decision_options(own, ALICE, now=T0, limits=LIMITS)
    assert options.open_actions == ("withdraw",)
    assert options["arm"].refusal == "own_draft"
    assert options.note == "You requested this draft, so a different approver must decide it."
    with pytest.raises(Forbidden, match="different approver"):
        require(options, "reject")
    others = decision_options(budget_draft(), ALICE, now=T0, limits=LIMITS)["withdraw"]
    assert others.refusal == "not_proposer"


def test_after_approving_only_reject_is_left_and_the_count_comes_from_the_draft() -> None:
    draft = budget_draft(after=80_000, required=2).model_copy(update={"approvals": approved_by("alice")})
    options = decision_options(draft, ALICE, now=T0, limits=LIMITS)
    assert options.open_actions == ("reject",)
    assert options["arm"].refusal == options["confirm"].refusal == "already_approved"
    assert options.note == "You approved this draft. It needs 1 more approval from someone else."
    assert decision_options(draft, BOB, now=T0, limits=LIMITS).open_actions == ("arm", "reject")
    # Three required (a stricter policy, say): the reason follows the draft, never a fixed "one more".
    three = draft.model_copy(update={"required_approvals": 3})
    assert "needs 2 more approvals" in (decision_options(three, ALICE, now=T0).note or "")
    assert approvals_missing(three) == 2 and more_approvals(1) == "1 more approval"


def test_the_policy_in_force_can_raise_the_quorum() -> None:
    drafted_small = budget_draft(before=10_000, after=80_000, required=1)  # +700.00: above 500.00
    assert decision_options(drafted_small, ALICE, now=T0).approvals_needed == 1
    assert decision_options(drafted_small, ALICE, now=T0, limits=LIMITS).approvals_needed == 2


def test_an_expired_draft_can_no_longer_be_decided_or_withdrawn() -> None:
    options = decision_options(budget_draft(), ALICE, now=T0 + timedelta(hours=49), limits=LIMITS)
    assert options.open_actions == ()
    assert options["arm"].refusal == "expired"
    assert (options["arm"].reason or "").startswith("This draft expired at 2026-11-27 12:00:00 UTC")
    own = budget_draft(proposer="claude")
    agent = Principal(name="claude", kind="agent", token_sha256="0" * 64, accounts=("*",))
    assert decision_options(own, agent, now=T0 + timedelta(hours=49))["withdraw"].refusal == "expired"
    with pytest.raises(Conflict, match="expired"):
        require(options, "reject")


@pytest.mark.parametrize(
    "status", [s for s in DraftStatus if s not in {DraftStatus.PENDING, DraftStatus.ARMED}]
)
def test_a_decided_draft_offers_no_decision(status: DraftStatus) -> None:
    options = decision_options(budget_draft().model_copy(update={"status": status}), ALICE, now=T0)
    assert {options[a].refusal for a in ("arm", "confirm", "reject")} == {"decided"}
    assert f"This draft is {status.value}; it can no longer be decided." == options["arm"].reason


def test_rollback_is_open_on_written_changes_only() -> None:
    applied = budget_draft().model_copy(update={"status": DraftStatus.APPLIED})
    assert decision_options(applied, ALICE, now=T0).open_actions == ("rollback",)
    failed = budget_draft().model_copy(update={"status": DraftStatus.APPLY_FAILED})
    closed = decision_options(failed, ALICE, now=T0)["rollback"]
    assert closed.refusal == "not_applied" and "only applied changes" in (closed.reason or "")
    partly = failed.model_copy(update={"applied_changes": (0,)})
    assert decision_options(partly, ALICE, now=T0)["rollback"].open
    pending = decision_options(budget_draft(), ALICE, now=T0)["rollback"]
    assert pending.refusal == "not_applied"


def test_the_view_is_what_rest_and_the_cli_read() -> None:
    view = decision_options(budget_draft(), ALICE, now=T0, limits=LIMITS).view()
    assert view["open"] == ["arm", "reject"]
    assert view["actions"]["confirm"] == {
        "open": False,
        "refusal": "no_arm",
        "reason": view["actions"]["confirm"]["reason"],
    }
    assert set(view["actions"]) == {"arm", "confirm", "reject", "rollback", "withdraw"}


def test_whoever_requested_an_applied_draft_may_ask_to_roll_it_back() -> None:
    # Asking decides nothing: the rollback draft needs its own approvals, and never from the asker.
    own = budget_draft().model_copy(
        update={"status": DraftStatus.APPLIED, "proposed_by": Actor(name="alice", kind="human")}
    )
    assert decision_options(own, ALICE, now=T0)["rollback"].open
    viewer = human("vera", "viewer")
    assert decision_options(own, viewer, now=T0)["rollback"].refusal == "not_a_decider"
