"""Property: no sequence of decisions by anyone, through any channel, applies without the required humans.

Hypothesis drives random sequences of arm / confirm (right or forged token) / reject / withdraw /
expire / disarm by every kind of principal against real Redis, checking after each step that an
approved draft has enough distinct eligible humans, that terminal states never change, and that
exactly one apply job exists iff the draft is approved.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from decimal import Decimal

import hypothesis.strategies as st
import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import TERMINAL_STATUSES, DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import SpendgateError
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting
from tests.support.clock import MovableClock

from .conftest import RecordingQueue

ACTORS = ["agent", "reader", "alice", "bob", "carol", "viewer"]


def test_no_sequence_applies_without_the_required_humans(
    deps: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    clock = MovableClock()
    world = CoreDeps(
        store=deps.store, ledger=deps.ledger, policies=deps.policies, clock=clock, platform_reader=deps.reader
    )
    reached: set[DraftStatus] = set()
    campaign = next(c for c in deps.reader.list_campaigns("acc_us_001") if c.daily_budget >= 200_000)

    class Decisions(RuleBasedStateMachine):
        @initialize(increase=st.sampled_from([10_000, 60_000]))
        def propose(self, increase: int) -> None:
            redis_client.flushdb()
            clock.set(datetime.now(UTC))
            self.queue = RecordingQueue()
            self.tokens: dict[str, str] = {}
            self.terminal: DraftStatus | None = None
            draft = drafting.propose_budget_change(
                deps=world,
                principal=people["agent"],
                account_id="acc_us_001",
                campaign_id=campaign.id,
                new_daily_budget=Decimal(campaign.daily_budget + increase) / 100,
                reason="property test",
            )
            self.draft_id = draft.id

        def attempt(self, action) -> None:  # type: ignore[no-untyped-def]
            # Refusals are expected; the invariants say whether a refusal was wrong.
            with contextlib.suppress(SpendgateError):
                action()

        @rule(who=st.sampled_from(ACTORS))
        def arm(self, who: str) -> None:
            def go() -> None:
                version = world.store.get(self.draft_id).version
                armed = approval.arm(
                    deps=world,
                    principal=people[who],
                    draft_id=self.draft_id,
                    if_match=f'"{version}"',
                    channel="rest",
                )
                self.tokens[who] = armed.confirm_token

            self.attempt(go)

        @rule(who=st.sampled_from(ACTORS), forged=st.booleans())
        def confirm(self, who: str, forged: bool) -> None:
            token = "forged-token" if forged else self.tokens.get(who, "never-armed")
            self.attempt(
                lambda: approval.confirm(
                    deps=world,
                    principal=people[who],
                    draft_id=self.draft_id,
                    confirm_token=token,
                    channel="rest",
                    queue=self.queue,
                )
            )

        @rule(who=st.sampled_from(ACTORS))
        def arm_and_confirm(self, who: str) -> None:
            self.arm(who)
            self.confirm(who, forged=False)

        @rule(who=st.sampled_from(ACTORS))
        def reject(self, who: str) -> None:
            self.attempt(
                lambda: approval.reject(
                    deps=world, principal=people[who], draft_id=self.draft_id, reason="no", channel="rest"
                )
            )

        @rule(who=st.sampled_from(ACTORS))
        def withdraw(self, who: str) -> None:
            self.attempt(
                lambda: drafting.withdraw_draft(
                    deps=world, principal=people[who], draft_id=self.draft_id, reason="changed my mind"
                )
            )

        @rule(seconds=st.sampled_from([30, 121, 49 * 3600]))
        def time_passes(self, seconds: int) -> None:
            clock.advance(seconds)

        @rule()
        def sweep(self) -> None:
            draft = world.store.get(self.draft_id)
            now = clock.now()
            for step in (lifecycle.expire, lifecycle.disarm):
                try:
                    world.store.save(step(draft, now=now), expected_version=draft.version)
                    return
                except SpendgateError:
                    continue

        @invariant()
        def holds(self) -> None:
            draft = world.store.get(self.draft_id)
            reached.add(draft.status)
            humans = {a.principal for a in draft.approvals}
            eligible = {p.name for p in people.values() if p.may_decide(draft.account_id)}
            assert humans <= eligible - {draft.proposed_by.name}
            if draft.status is DraftStatus.APPROVED:
                assert len(humans) >= draft.required_approvals
                assert self.queue.jobs == [(draft.id, draft.version)]
            else:
                assert self.queue.jobs == []
            if self.terminal is not None:
                assert draft.status is self.terminal
            if draft.status in TERMINAL_STATUSES:
                self.terminal = draft.status

    run_state_machine_as_test(
        Decisions,
        settings=settings(
            max_examples=200,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # The search must actually reach the interesting states, or the property proves nothing.
    assert {DraftStatus.APPROVED, DraftStatus.REJECTED, DraftStatus.EXPIRED, DraftStatus.ARMED} <= reached


pytestmark = pytest.mark.timeout(300)
