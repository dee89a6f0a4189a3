"""The console's reading pages over real HTTP: the queue and its filters, a draft in every outcome, the
audit log with its verification, and the operations page (circuit breakers, queues, deliveries)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import redis

from spendgate_core.adapters.events import record_delivery
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from tests.integration.approvals.conftest import MovableClock, mark_applied
from tests.support import drafting
from tests.support.stack import EU, JP, KEYS, US, World

from .conftest import Person, propose


def test_the_queue_shows_waiting_drafts_newest_first_with_filters(
    alice: Person, core: CoreDeps, people: dict[str, Principal], clock: MovableClock
) -> None:
    old = propose(core, people["agent"], account=US, increase=5_000)
    clock.advance(600)
    eu = propose(core, people["agent"], account=EU, increase=5_000)
    clock.advance(60)
    jp = propose(core, people["agent"], account=JP, increase=500)
    rejected = propose(core, people["agent"], account=US, increase=6_000)
    approval.reject(deps=core, principal=people["alice"], draft_id=rejected.id, reason="no", channel="rest")

    page = alice.get("/console/").text
    assert page.index(jp.id) < page.index(eu.id) < page.index(old.id)
    assert rejected.id not in page
    assert "+50.00 USD" in page and "+500 JPY" in page
    assert "11 min ago" in page and "in 1 d 23 h" in page  # age and expiry of the oldest
    assert "0 of 1" in page

    only_eu = alice.get(f"/console/?account={EU}").text
    assert eu.id in only_eu and old.id not in only_eu and jp.id not in only_eu
    assert f'<option value="{EU}" selected>' in only_eu
    only_rejected = alice.get("/console/?status=rejected").text
    assert rejected.id in only_rejected and old.id not in only_rejected
    everything = alice.get("/console/?status=all").text
    assert all(d.id in everything for d in (old, eu, jp, rejected))
    # Unknown or odd filters fall back or find nothing; never an error page.
    assert old.id in alice.get("/console/?status=bogus").text
    assert alice.get("/console/?account=" + "x" * 5000).status_code == 200
    assert "No drafts match" in alice.get("/console/?account=acc_nope").text


def test_a_draft_page_shows_the_diff_policy_envelope_and_people(
    alice: Person, core: CoreDeps, people: dict[str, Principal], world: World
) -> None:
    draft = propose(core, people["agent"], account=US, increase=60_000)
    change = draft.changes[0]
    page = alice.get(f"/console/drafts/{draft.id}").text
    before, after = f"{int(change.before) / 100:.2f} USD", f"{int(change.after) / 100:.2f} USD"
    assert before in page and after in page and "+600.00 USD" in page
    assert change.entity_id in page and "claude" in page and "more reach for a strong week" in page
    assert "0 of 2" in page and "needs two different approvers" in page
    for rule in ("min_daily_budget", "max_daily_budget", "max_change_pct", "envelope_24h", "draft_ttl_hours"):
        assert rule in page
    assert 'class="rule rule-fail"' not in page
    assert "2000.00 USD" in page  # the envelope cap

    # Someone changes the campaign in the platform's UI: the page warns that approving would go stale.
    httpx.post(
        f"{world.adsim_url}/_sim/campaigns/{US}/{change.entity_id}",
        json={"daily_budget": int(change.before) + 100},
        timeout=10,
    ).raise_for_status()
    moved = alice.get(f"/console/drafts/{draft.id}").text
    assert "changed since drafted" in moved and "will find it stale" in moved


def test_decided_drafts_render_their_outcome(
    alice: Person, core: CoreDeps, people: dict[str, Principal], world: World, clock: MovableClock
) -> None:
    applied = propose(core, people["agent"], account=US, increase=5_000)
    alice.approve(applied.id)
    mark_applied(core, world.adsim_url, applied.id)
    withdrawn = propose(core, people["agent"], account=US, increase=5_500)
    drafting.withdraw_draft(
        deps=core, principal=people["agent"], draft_id=withdrawn.id, reason="changed my mind"
    )
    stale = propose(core, people["agent"], account=US, increase=6_000)
    alice.approve(stale.id)
    current = core.store.get(stale.id)
    applying = lifecycle.begin_apply(current)
    core.store.save(applying, expected_version=current.version)
    core.store.save(
        lifecycle.mark_stale(applying, now=clock.now(), error="the budget changed out of band"),
        expected_version=applying.version,
    )
    expired = propose(core, people["agent"], account=EU, increase=5_000)
    clock.advance(49 * 3600)
    # Still signed in? No: the session outlived 8 h. Sign in again, as a person would.
    alice.sign_in()

    expectations = {
        applied.id: ("Applied", "Roll back"),
        withdrawn.id: ("Withdrawn by claude", "changed my mind"),
        stale.id: ("Stale", "the budget changed out of band"),
        # Not swept yet, so still `pending` in the store, but no longer decidable.
        expired.id: ("Pending", "This draft expired at "),
    }
    for draft_id, (first, second) in expectations.items():
        answer = alice.get(f"/console/drafts/{draft_id}")
        assert answer.status_code == 200, draft_id
        assert first in answer.text and second in answer.text, draft_id
    assert "Approve &amp; push live" not in alice.get(f"/console/drafts/{expired.id}").text


def test_the_audit_page_lists_entries_and_verifies_the_chain(
    alice: Person, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    alice.approve(draft.id)
    page = alice.get("/console/audit").text
    assert "Verified" in page and "All 3 entries" in page
    assert f'href="/console/drafts/{draft.id}"' in page
    assert page.index(">confirm<") < page.index(">arm<") < page.index(">draft<")  # newest first
    assert (
        "&#34;channel&#34;: &#34;console&#34;" in page or "&quot;channel&quot;: &quot;console&quot;" in page
    )
    assert "No entries yet" in alice.get(f"/console/audit?account={EU}").text

    # Tamper with the second entry: the page says where the chain breaks, and still renders.
    original = redis_client.lindex("sg:ledger:entries", 1)
    assert original is not None
    redis_client.lset("sg:ledger:entries", 1, original.replace(b'"arm"', b'"reject"'))
    broken = alice.get("/console/audit")
    assert broken.status_code == 200
    assert "Broken" in broken.text and "at seq <strong>2</strong>" in broken.text
    redis_client.lset("sg:ledger:entries", 1, b"not json")
    unreadable = alice.get("/console/audit")
    assert unreadable.status_code == 200 and "The entries cannot be shown" in unreadable.text


def test_the_operations_page_shows_circuits_queues_and_deliveries(
    person: Any, alice: Person, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    us = propose(core, people["agent"], account=US, increase=5_000)
    page = alice.get("/console/ops").text
    assert page.count("circuit-closed") == 3 and "spendgate-apply" in page
    assert "No deliveries recorded yet" in page

    open_until = int(time.time() * 1000) + 300_000
    redis_client.hset(f"sg:circuit:{US}", mapping={"failures": 5, "open_until": open_until})
    redis_client.sadd("sg:circuit:accounts", US)
    record_delivery(
        redis_client,
        {
            "event_id": "evt_1",
            "type": "draft.created",
            "draft_id": us.id,
            "url": "https://hooks.example/in",
            "attempt": 2,
            "outcome": "retrying",
            "http_status": 503,
            "error": None,
            "at": "2026-01-01T10:00:00+00:00",
            "duration_ms": 12,
            "next_attempt_at": None,
        },
        keys=KEYS,
    )
    page = alice.get("/console/ops").text
    assert "circuit-open" in page and "applies paused after repeated upstream failures" in page
    assert "draft.created" in page and "https://hooks.example/in" in page and "HTTP 503" in page
    assert "2026-01-01 10:00:00 UTC" in page

    # A draft of that account, once approved, says its apply is paused.
    alice.approve(us.id)
    assert "Applies for acc_us_001 are paused" in alice.get(f"/console/drafts/{us.id}").text

    # carol sees only acc_eu_002: neither the US circuit nor the US draft's delivery.
    carol: Person = person("carol")
    carol.sign_in()
    theirs = carol.get("/console/ops").text
    assert US not in theirs and us.id not in theirs and EU in theirs


def test_unknown_console_pages_are_a_page_not_json(alice: Person) -> None:
    answer = alice.get("/console/nope/nothing")
    assert answer.status_code == 404 and "no such page in the console" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_drafts_in_every_status_have_a_page(
    alice: Person, core: CoreDeps, people: dict[str, Principal]
) -> None:
    """Belt and braces: force a draft through every status and open its page (no 500, no template error)."""
    draft = propose(core, people["agent"], account=US, increase=5_000)
    for status in DraftStatus:
        current = core.store.get(draft.id)
        update: dict[str, Any] = {"status": status, "version": current.version + 1}
        if status is DraftStatus.APPLY_FAILED:
            update.update(error="platform said no", applied_changes=(0,))
        core.store.save(current.model_copy(update=update), expected_version=current.version)
        answer = alice.get(f"/console/drafts/{draft.id}")
        assert answer.status_code == 200, status
        if status is DraftStatus.APPLY_FAILED:
            assert "platform said no" in answer.text and "Roll back" in answer.text


def test_text_from_agents_is_escaped(alice: Person, core: CoreDeps, people: dict[str, Principal]) -> None:
    """A draft's reason is written by an AI (and so, potentially, by whoever prompted it)."""
    campaign = core.reader.list_campaigns(US)[5]
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> "quoted" & more'
    draft = drafting.propose_budget_change(
        deps=core,
        principal=people["agent"],
        account_id=US,
        campaign_id=campaign.id,
        new_daily_budget=Decimal(campaign.daily_budget + 100).scaleb(-2),
        reason=hostile,
    )
    for path in (f"/console/drafts/{draft.id}", "/console/audit"):
        page = alice.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
