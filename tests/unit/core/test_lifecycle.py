"""The draft state machine: two steps, four eyes, arm windows, terminal states."""

from datetime import timedelta

import pytest

from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftStatus
from spendgate_core.errors import Conflict, Forbidden

from .factories import T0, budget_draft


def armed_and_confirmed(draft, who: str, *, at=T0):  # type: ignore[no-untyped-def]
    armed = lifecycle.arm(
        draft, principal=who, channel="rest", token=f"tok-{who}", now=at, window_seconds=120
    )
    return lifecycle.confirm(armed, principal=who, token=f"tok-{who}", now=at + timedelta(seconds=5))


def test_one_human_approves_a_small_draft() -> None:
    draft = armed_and_confirmed(budget_draft(), "alice")
    assert draft.status is DraftStatus.APPROVED
    assert draft.version == 3  # arm and confirm are each a state change
    assert [a.principal for a in draft.approvals] == ["alice"]


def test_four_eyes_needs_two_distinct_humans() -> None:
    draft = armed_and_confirmed(budget_draft(required=2), "alice")
    assert draft.status is DraftStatus.PENDING and len(draft.approvals) == 1
    with pytest.raises(Conflict, match="different human"):
        lifecycle.arm(draft, principal="alice", channel="rest", token="t", now=T0, window_seconds=120)
    draft = armed_and_confirmed(draft, "bob")
    assert draft.status is DraftStatus.APPROVED


def test_confirm_needs_the_same_human_and_token_inside_the_window() -> None:
    armed = lifecycle.arm(
        budget_draft(), principal="alice", channel="rest", token="secret", now=T0, window_seconds=120
    )
    assert armed.status is DraftStatus.ARMED
    with pytest.raises(Conflict, match="no live arm"):
        lifecycle.confirm(armed, principal="bob", token="secret", now=T0)
    with pytest.raises(Forbidden, match="does not match"):
        lifecycle.confirm(armed, principal="alice", token="guess", now=T0)
    with pytest.raises(Conflict, match="window"):
        lifecycle.confirm(armed, principal="alice", token="secret", now=T0 + timedelta(seconds=121))
    assert lifecycle.disarm(armed, now=T0 + timedelta(seconds=121)).status is DraftStatus.PENDING


def test_terminal_states_refuse_every_decision() -> None:
    rejected = lifecycle.reject(budget_draft(), principal="alice", reason="no", now=T0)
    for attempt in (
        lambda: lifecycle.arm(
            rejected, principal="bob", channel="rest", token="t", now=T0, window_seconds=60
        ),
        lambda: lifecycle.reject(rejected, principal="bob", reason="x", now=T0),
        lambda: lifecycle.withdraw(rejected, principal="claude", reason="x", now=T0),
        lambda: lifecycle.expire(rejected, now=T0 + timedelta(days=9)),
    ):
        with pytest.raises(Conflict):
            attempt()


def test_only_the_proposer_withdraws_and_expiry_waits_for_the_ttl() -> None:
    draft = budget_draft()
    with pytest.raises(Forbidden):
        lifecycle.withdraw(draft, principal="someone-else", reason="x", now=T0)
    assert lifecycle.withdraw(draft, principal="claude", reason="x", now=T0).status is DraftStatus.WITHDRAWN
    with pytest.raises(Conflict):
        lifecycle.expire(draft, now=T0 + timedelta(hours=47))
    assert lifecycle.expire(draft, now=T0 + timedelta(hours=48)).status is DraftStatus.EXPIRED
