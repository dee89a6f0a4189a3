"""Approval rules end to end in core: two steps, four eyes, who may decide, idempotent races."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from spendgate_core.domain.models import DraftStatus
from spendgate_core.domain.policy import PolicyBook
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyViolation
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting

from .conftest import RecordingQueue


def campaign_with_budget(deps: CoreDeps, account: str, *, at_least: int) -> tuple[str, int]:
    for campaign in deps.reader.list_campaigns(account):
        if campaign.daily_budget >= at_least:
            return campaign.id, campaign.daily_budget
    raise AssertionError(f"adsim has no campaign with a budget of at least {at_least}")


def propose_increase(deps: CoreDeps, agent: Principal, *, increase: int) -> str:
    campaign, budget = campaign_with_budget(deps, "acc_us_001", at_least=increase * 2)
    new = Decimal(budget + increase) / 100
    draft = drafting.propose_budget_change(
        deps=deps,
        principal=agent,
        account_id="acc_us_001",
        campaign_id=campaign,
        new_daily_budget=new,
        reason="more reach",
    )
    return draft.id


def approve(deps: CoreDeps, who: Principal, draft_id: str, queue: RecordingQueue):  # type: ignore[no-untyped-def]
    current = deps.store.get(draft_id)
    armed = approval.arm(
        deps=deps, principal=who, draft_id=draft_id, if_match=f'"{current.version}"', channel="rest"
    )
    return approval.confirm(
        deps=deps,
        principal=who,
        draft_id=draft_id,
        confirm_token=armed.confirm_token,
        channel="rest",
        queue=queue,
    )


def test_small_draft_one_human(deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=10_000)
    approved = approve(deps, people["alice"], draft_id, queue)
    assert approved.status is DraftStatus.APPROVED
    assert queue.jobs == [(draft_id, approved.version)]
    actions = [e.action for e in deps.ledger.latest(account_id="acc_us_001", limit=10)]
    assert actions[:3] == ["confirm", "arm", "draft"]
    assert deps.ledger.verify().ok


def test_four_eyes_one_human_twice_is_not_enough(
    deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue
) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=60_000)  # above 500.00: two humans
    assert deps.store.get(draft_id).required_approvals == 2
    after_alice = approve(deps, people["alice"], draft_id, queue)
    assert after_alice.status is DraftStatus.PENDING and queue.jobs == []
    with pytest.raises(Conflict, match="from someone else"):
        approve(deps, people["alice"], draft_id, queue)
    assert approve(deps, people["bob"], draft_id, queue).status is DraftStatus.APPROVED
    assert len(queue.jobs) == 1


def test_who_may_not_decide(deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=10_000)
    version = f'"{deps.store.get(draft_id).version}"'
    for who, error in (
        ("agent", Forbidden),
        ("reader", Forbidden),
        ("viewer", Forbidden),
        ("carol", NotFound),
    ):
        with pytest.raises(error):
            approval.arm(
                deps=deps, principal=people[who], draft_id=draft_id, if_match=version, channel="rest"
            )
    assert deps.store.get(draft_id).status is DraftStatus.PENDING


def test_concurrent_confirms_one_approval_one_job(
    deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue
) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=10_000)
    current = deps.store.get(draft_id)
    armed = approval.arm(
        deps=deps,
        principal=people["alice"],
        draft_id=draft_id,
        if_match=f'"{current.version}"',
        channel="rest",
    )
    barrier = threading.Barrier(12)
    errors: list[Exception] = []

    def confirm() -> None:
        barrier.wait()
        try:
            approval.confirm(
                deps=deps,
                principal=people["alice"],
                draft_id=draft_id,
                confirm_token=armed.confirm_token,
                channel="rest",
                queue=queue,
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=confirm) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    final = deps.store.get(draft_id)
    assert errors == []
    assert final.status is DraftStatus.APPROVED and len(final.approvals) == 1
    assert queue.jobs == [(draft_id, final.version)]


def test_policy_is_checked_again_at_confirm(
    deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue
) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=40_000)
    now = deps.clock.now()
    # Someone else's increase of 1700.00 was applied meanwhile: 400.00 no longer fits the 2000.00 envelope.
    deps.store.client.zadd("sg:envelope:acc_us_001", {"drf_other:170000": int(now.timestamp() * 1000)})  # type: ignore[attr-defined]
    with pytest.raises(PolicyViolation, match="envelope_24h"):
        approve(deps, people["alice"], draft_id, queue)
    assert queue.jobs == []


def test_refusals_name_their_rule(deps: CoreDeps, people: dict[str, Principal]) -> None:
    campaign, budget = campaign_with_budget(deps, "acc_us_001", at_least=10_000)
    agent = people["agent"]
    with pytest.raises(PolicyViolation, match=r"max_change_pct: \+80%"):
        drafting.propose_budget_change(
            deps=deps,
            principal=agent,
            account_id="acc_us_001",
            campaign_id=campaign,
            new_daily_budget=Decimal(budget * 18 // 10) / 100,
            reason="x",
        )
    with pytest.raises(Conflict, match="expected_current_budget"):
        drafting.propose_budget_change(
            deps=deps,
            principal=agent,
            account_id="acc_us_001",
            campaign_id=campaign,
            new_daily_budget=Decimal(budget + 100) / 100,
            reason="x",
            expected_current_budget=Decimal(budget + 1) / 100,
        )
    with pytest.raises(NotFound, match="unknown account"):
        drafting.propose_budget_change(
            deps=deps,
            principal=people["eu_agent"],
            account_id="acc_us_001",
            campaign_id=campaign,
            new_daily_budget="10.00",
            reason="x",
        )
    with pytest.raises(Forbidden, match=r"mcp\.draft"):
        drafting.propose_budget_change(
            deps=deps,
            principal=people["reader"],
            account_id="acc_us_001",
            campaign_id=campaign,
            new_daily_budget="10.00",
            reason="x",
        )


def test_shifts_need_a_running_source_and_four_eyes_weigh_the_amount_moved(
    deps: CoreDeps, people: dict[str, Principal]
) -> None:
    live = deps.reader.list_campaigns("acc_us_001")
    paused = next(c for c in live if c.status.value == "PAUSED")
    running = [c for c in live if c.status.value == "ENABLED" and c.daily_budget >= 120_000]
    with pytest.raises(InvalidInput, match="PAUSED"):
        drafting.propose_budget_shift(
            deps=deps,
            principal=people["agent"],
            account_id="acc_us_001",
            from_campaign_id=paused.id,
            to_campaign_id=running[0].id,
            amount="10.00",
            reason="x",
        )
    big = drafting.propose_budget_shift(
        deps=deps,
        principal=people["agent"],
        account_id="acc_us_001",
        from_campaign_id=running[0].id,
        to_campaign_id=running[1].id,
        amount="600.00",
        reason="move it",
    )
    assert big.impact.daily_budget_delta == 0 and big.required_approvals == 2


def test_a_stricter_policy_in_force_at_confirm_asks_for_more_humans(
    deps: CoreDeps, people: dict[str, Principal], queue: RecordingQueue
) -> None:
    draft_id = propose_increase(deps, people["agent"], increase=20_000)  # 200.00: one human when drafted
    stricter = PolicyBook.from_toml('[defaults]\nsecond_approver_above = "100.00"\n', source="test")
    now_deps = CoreDeps(
        store=deps.store, ledger=deps.ledger, policies=stricter, clock=deps.clock, platform_reader=deps.reader
    )
    after_alice = approve(now_deps, people["alice"], draft_id, queue)
    assert after_alice.status is DraftStatus.PENDING and after_alice.required_approvals == 2
    assert approve(now_deps, people["bob"], draft_id, queue).status is DraftStatus.APPROVED
