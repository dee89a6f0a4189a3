"""What the worker decides before writing: rollbacks, policy and expiry re-checked at apply time."""

from __future__ import annotations

from pathlib import Path

from spendgate_core.domain.models import CampaignStatus, DraftKind, DraftStatus
from tests.integration.executor.harness import Harness
from tests.support import drafting
from tests.support.stack import DEFAULT_POLICY


def test_an_applied_rollback_restores_the_value_and_marks_the_original_rolled_back(harness: Harness) -> None:
    before = harness.budget("cmp_us_001")
    original = harness.approve(harness.propose_change("cmp_us_001", delta=4000))
    harness.work()
    assert harness.budget("cmp_us_001") == before + 4000

    rollback = drafting.request_rollback(deps=harness.core, principal=harness.alice, draft_id=original.id)
    assert rollback.kind is DraftKind.ROLLBACK
    harness.approve(rollback, by=(harness.bob,))  # not the human who asked for it
    harness.work()

    assert harness.get(rollback.id).status is DraftStatus.APPLIED
    rolled_back = harness.get(original.id)
    assert rolled_back.status is DraftStatus.ROLLED_BACK
    assert rolled_back.rolled_back_by == rollback.id
    assert harness.budget("cmp_us_001") == before
    keys = [w["idempotency_key"] for w in harness.api_writes()]
    assert keys == [f"{original.id}:0", f"{rollback.id}:0"]


def test_a_rollback_of_a_deep_cut_is_applied_though_undoing_it_exceeds_the_change_limit(
    harness: Harness,
) -> None:
    # A 40 % cut is within the 50 % limit; putting it back is +66.67 %. The rollback restores a value a
    # human approved before, so the percentage rule does not apply: at drafting, at confirm, or here.
    before = harness.budget("cmp_us_001")
    cut = -(before * 40 // 100)
    original = harness.approve(harness.propose_change("cmp_us_001", delta=cut))
    harness.work()
    assert harness.budget("cmp_us_001") == before + cut

    rollback = drafting.request_rollback(deps=harness.core, principal=harness.alice, draft_id=original.id)
    harness.approve(rollback, by=(harness.bob,))
    harness.work()

    assert harness.get(rollback.id).status is DraftStatus.APPLIED, harness.get(rollback.id).error
    assert harness.budget("cmp_us_001") == before


def test_a_policy_tightened_after_approval_refuses_the_apply_naming_the_rule(
    harness: Harness, tmp_path: Path
) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_003", delta=10000))  # +26%, fine when approved
    strict = tmp_path / "strict-policy.toml"
    strict.write_text(DEFAULT_POLICY.replace("max_change_pct = 50", "max_change_pct = 10"), "utf-8")
    harness.configure(SPENDGATE_POLICY_FILE=str(strict))

    harness.work()

    failed = harness.get(draft.id)
    assert failed.status is DraftStatus.APPLY_FAILED
    assert failed.error is not None and failed.error.startswith("max_change_pct:")
    assert harness.api_writes() == []


def test_the_envelope_is_reserved_at_apply_so_two_approved_increases_cannot_exceed_it(
    harness: Harness, tmp_path: Path
) -> None:
    small_envelope = tmp_path / "policy.toml"
    small_envelope.write_text(
        DEFAULT_POLICY.replace('envelope_24h = "2000.00"', 'envelope_24h = "150.00"'), "utf-8"
    )
    harness.configure(SPENDGATE_POLICY_FILE=str(small_envelope))
    # Both were approved under the looser envelope, before either was applied.
    first = harness.approve(harness.propose_change("cmp_us_005", delta=10000))
    second = harness.approve(harness.propose_change("cmp_us_007", delta=10000))

    harness.work()

    assert harness.get(first.id).status is DraftStatus.APPLIED
    refused = harness.get(second.id)
    assert refused.status is DraftStatus.APPLY_FAILED
    assert refused.error is not None and refused.error.startswith("envelope_24h:")
    assert len(harness.api_writes()) == 1


def test_an_approval_that_outlived_its_draft_is_not_applied(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_006", delta=1000))
    harness.clock.advance(hours=49)  # every worker was down for two days

    harness.work()

    failed = harness.get(draft.id)
    assert failed.status is DraftStatus.APPLY_FAILED
    assert failed.error is not None and failed.error.startswith("draft_ttl_hours:")
    assert harness.api_writes() == []


def test_a_status_change_is_applied(harness: Harness) -> None:
    draft = drafting.propose_status_change(
        deps=harness.core,
        principal=harness.agent,
        account_id="acc_us_001",
        campaign_id="cmp_us_001",
        new_status=CampaignStatus.PAUSED,
        reason="test: pause",
    )
    harness.approve(draft)
    harness.work()

    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert [(w["field"], w["new"]) for w in harness.api_writes()] == [("status", "PAUSED")]
