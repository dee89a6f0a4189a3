"""Deciding drafts in the console over real HTTP: the two steps, four eyes, reject, rollback, and every
refusal (CSRF, viewer, stale version, lapsed arm, policy) shown as a page with nothing changed."""

from __future__ import annotations

from typing import Any

import redis

from spendgate_core.contracts.jobs import apply_job_id
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftKind, DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps
from tests.integration.approvals.conftest import MovableClock, mark_applied
from tests.support.stack import EU, US, World

from .conftest import Person, hidden, propose, queued_jobs


def ledger_actions(core: CoreDeps, draft_id: str) -> list[str]:
    return [e.action for e in reversed(core.ledger.latest(limit=200)) if e.draft_id == draft_id]


def test_two_step_approval_queues_one_apply(
    alice: Person, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    page = alice.get(f"/console/drafts/{draft.id}")
    assert page.status_code == 200
    assert "Approve &amp; push live" in page.text and "+50.00 USD" in page.text
    assert 'name="version" value="1"' in page.text

    armed = alice.arm(draft.id)
    assert armed.status_code == 303 and armed.headers["location"] == f"/console/drafts/{draft.id}"
    stored = core.store.get(draft.id)
    assert stored.status is DraftStatus.ARMED and stored.arms[0].channel == "console"

    step_two = alice.get(f"/console/drafts/{draft.id}")
    assert "Confirm — push live" in step_two.text and "Step 1 done" in step_two.text
    assert 'data-seconds="120"' in step_two.text
    # The confirm token stays server-side: no page carries anything that hashes to the arm's digest.
    session_key = next(k.decode() for k in redis_client.scan_iter("sg:session:*"))
    token = redis_client.hget(session_key, f"arm:{draft.id}")
    assert token is not None
    assert token.decode().split('"token": "')[1].split('"')[0] not in step_two.text

    confirmed = alice.act(draft.id, "confirm")
    assert confirmed.status_code == 303
    approved = core.store.get(draft.id)
    assert approved.status is DraftStatus.APPROVED
    assert [(a.principal, a.channel) for a in approved.approvals] == [("alice@example.com", "console")]
    assert queued_jobs(redis_client) == [apply_job_id(draft.id, approved.version)]
    assert redis_client.hget(session_key, f"arm:{draft.id}") is None
    assert ledger_actions(core, draft.id) == ["draft", "arm", "confirm"]
    assert core.ledger.latest(limit=1)[0].details["channel"] == "console"

    after = alice.get(f"/console/drafts/{draft.id}")
    assert "Approved. The change is queued to go live." in after.text
    assert "Approve &amp; push live" not in after.text and "Confirm — push live" not in after.text
    # A repeated confirm (a second click, a resubmitted form) adds nothing.
    again = alice.act(draft.id, "confirm")
    assert again.status_code == 409 and "press “Approve &amp; push live” first" in again.text
    assert queued_jobs(redis_client) == [apply_job_id(draft.id, approved.version)]


def test_forms_without_the_sessions_token_or_from_another_site_change_nothing(
    alice: Person, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    token = alice.csrf(f"/console/drafts/{draft.id}")
    attempts = [
        ({"version": "1"}, {}),  # no token at all
        ({"version": "1", "csrf_token": "not-the-token"}, {}),
        ({"version": "1", "csrf_token": token + "x"}, {}),
        ({"version": "1", "csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"version": "1", "csrf_token": token}, {"Origin": "null"}),
        ({"version": "1", "csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
        ({"version": "1", "csrf_token": token}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for fields, headers in attempts:
        answer = alice.post(f"/console/drafts/{draft.id}/arm", fields, headers=headers)
        assert answer.status_code == 403, (fields, headers)
        assert "Request refused" in answer.text and "Nothing was changed" in answer.text
    for action, fields in (("reject", {"reason": "no"}), ("confirm", {}), ("rollback", {})):
        assert alice.post(f"/console/drafts/{draft.id}/{action}", fields).status_code == 403
    assert core.store.get(draft.id).version == 1
    assert ledger_actions(core, draft.id) == ["draft"]
    assert queued_jobs(redis_client) == []

    # The same form from this console's own origin goes through.
    same_origin = {"Origin": alice.url, "Sec-Fetch-Site": "same-origin"}
    ok = alice.post(
        f"/console/drafts/{draft.id}/arm", {"version": "1", "csrf_token": token}, headers=same_origin
    )
    assert ok.status_code == 303


def test_a_viewer_reads_everything_but_is_offered_no_decision(
    person: Any, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    viewer: Person = person("viewer")
    assert viewer.sign_in().status_code == 303
    page = viewer.get(f"/console/drafts/{draft.id}")
    assert page.status_code == 200 and "+50.00 USD" in page.text
    assert "deciding needs the approver or admin role" in page.text
    for action in ("/arm", "/confirm", "/reject", "/rollback"):
        assert f'action="/console/drafts/{draft.id}{action}"' not in page.text
    # Posting the form anyway is refused by core, shown on the page, and changes nothing.
    refused = viewer.post(
        f"/console/drafts/{draft.id}/arm", {"csrf_token": hidden(page.text, "csrf_token"), "version": "1"}
    )
    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert core.store.get(draft.id).version == 1


def test_arming_a_version_that_moved_on_is_refused(
    alice: Person, person: Any, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    stale_form = alice.get(f"/console/drafts/{draft.id}")
    bob: Person = person("bob")
    bob.sign_in()
    assert bob.arm(draft.id).status_code == 303  # the draft is now version 2
    answer = alice.post(
        f"/console/drafts/{draft.id}/arm",
        {"csrf_token": hidden(stale_form.text, "csrf_token"), "version": hidden(stale_form.text, "version")},
    )
    assert answer.status_code == 412
    assert "The draft changed while you were looking" in answer.text and "version 2, not 1" in answer.text
    assert "bob@example.com" in answer.text  # the refreshed page shows bob's arm
    assert 'name="version" value="2"' in answer.text


def test_four_eyes_in_the_console(
    alice: Person, person: Any, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft = propose(core, people["agent"], account=US, increase=60_000)  # +600 > 500: two humans
    assert draft.required_approvals == 2
    assert alice.approve(draft.id).status_code == 303
    halfway = core.store.get(draft.id)
    assert halfway.status is DraftStatus.PENDING and len(halfway.approvals) == 1
    page = alice.get(f"/console/drafts/{draft.id}")
    assert "It needs 1 more approval from someone else." in page.text  # the flash
    assert "You approved this draft" in page.text and "Approve &amp; push live" not in page.text
    assert queued_jobs(redis_client) == []

    bob: Person = person("bob")
    bob.sign_in()
    assert "1 of 2" in bob.get("/console/").text
    assert bob.approve(draft.id).status_code == 303
    approved = core.store.get(draft.id)
    assert approved.status is DraftStatus.APPROVED
    assert {a.principal for a in approved.approvals} == {"alice@example.com", "bob@example.com"}
    assert queued_jobs(redis_client) == [apply_job_id(draft.id, approved.version)]


def test_a_lapsed_arm_window_is_explained(
    alice: Person, core: CoreDeps, people: dict[str, Principal], clock: MovableClock
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    assert alice.arm(draft.id).status_code == 303
    clock.advance(121)
    answer = alice.act(draft.id, "confirm")
    assert answer.status_code == 409 and "arm window" in answer.text
    assert core.store.get(draft.id).status is DraftStatus.PENDING
    assert "Approve &amp; push live" in answer.text  # offered again


def test_reject_needs_a_reason(alice: Person, core: CoreDeps, people: dict[str, Principal]) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    for reason in ("", "   ", "bad\x00byte", "x" * 2001):
        answer = alice.act(draft.id, "reject", reason=reason)
        assert answer.status_code == 422, repr(reason)
        assert "give a reason for rejecting" in answer.text
        assert '<details class="reject" open>' in answer.text
    assert core.store.get(draft.id).version == 1

    done = alice.act(draft.id, "reject", reason="  not during the sale  ")
    assert done.status_code == 303
    rejected = core.store.get(draft.id)
    assert rejected.status is DraftStatus.REJECTED
    assert (rejected.decided_by, rejected.decision_reason) == ("alice@example.com", "not during the sale")
    page = alice.get(f"/console/drafts/{draft.id}")
    assert "Rejected by alice@example.com" in page.text and "not during the sale" in page.text
    assert "Reject this draft" not in page.text


def test_policy_refusal_at_confirm_is_a_banner(
    alice: Person, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    """The envelope filled up after the draft was made: confirm is refused by policy, shown, not applied."""
    waiting = propose(core, people["agent"], account=US, increase=75_000)
    big = propose(core, people["agent"], account=US, increase=130_000)
    # Play the executor for `big`: approved, applying with its envelope reservation, applied.
    approved = big.model_copy(update={"status": DraftStatus.APPROVED, "version": big.version + 1})
    core.store.save(approved, expected_version=big.version)
    applying = lifecycle.begin_apply(approved)
    limits = core.limits(US, "USD")
    core.store.reserve_and_save(
        applying, expected_version=approved.version, envelope_cap=limits.envelope_24h, now=core.clock.now()
    )
    assert core.store.envelope_used(US, now=core.clock.now()) == 130_000

    page = alice.get(f"/console/drafts/{waiting.id}")
    assert "1300.00 USD" in page.text  # used, in the envelope panel
    assert 'class="rule rule-fail"' in page.text and "envelope_24h" in page.text
    assert alice.arm(waiting.id).status_code == 303
    refused = alice.act(waiting.id, "confirm")
    assert refused.status_code == 422 and "Policy refuses this" in refused.text
    assert "only 700.00 USD of the 24h envelope" in refused.text
    assert core.store.get(waiting.id).approvals == ()
    assert queued_jobs(redis_client) == []


def test_roll_back_an_applied_draft(
    alice: Person, person: Any, core: CoreDeps, people: dict[str, Principal], world: World
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    assert alice.approve(draft.id).status_code == 303
    mark_applied(core, world.adsim_url, draft.id)
    page = alice.get(f"/console/drafts/{draft.id}")
    assert "Roll back" in page.text and "Applied at" in page.text

    answer = alice.act(draft.id, "rollback")
    assert answer.status_code == 303
    rollback_id = answer.headers["location"].rsplit("/", 1)[1]
    rollback = core.store.get(rollback_id)
    assert rollback.kind is DraftKind.ROLLBACK and rollback.rollback_of == draft.id
    assert rollback.status is DraftStatus.PENDING and rollback.proposed_by.name == "alice@example.com"
    assert rollback.changes[0].after == draft.changes[0].before
    mine = alice.get(answer.headers["location"])
    assert "Rollback draft created" in mine.text
    assert "You requested this draft, so a different approver must decide it." in mine.text
    assert f'href="/console/drafts/{draft.id}"' in mine.text
    bob: Person = person("bob")
    bob.sign_in()
    assert "Approve &amp; push live" in bob.get(answer.headers["location"]).text


def test_rolling_back_a_draft_that_was_not_applied_is_explained(
    alice: Person, core: CoreDeps, people: dict[str, Principal]
) -> None:
    draft = propose(core, people["agent"], account=US, increase=5_000)
    answer = alice.act(draft.id, "rollback")
    assert answer.status_code == 409 and "only applied changes can be rolled back" in answer.text


def test_drafts_of_accounts_you_cannot_see_look_unknown(
    person: Any, core: CoreDeps, people: dict[str, Principal]
) -> None:
    us = propose(core, people["agent"], account=US, increase=5_000)
    eu = propose(core, people["agent"], account=EU, increase=5_000)
    carol: Person = person("carol")  # admin of acc_eu_002 only
    carol.sign_in()
    foreign = carol.get(f"/console/drafts/{us.id}")
    unknown = carol.get("/console/drafts/drf_00000000000000000000000000")
    garbage = carol.get("/console/drafts/%3Cscript%3E")
    assert foreign.status_code == unknown.status_code == garbage.status_code == 404
    assert "<script>" not in garbage.text
    queue = carol.get("/console/?status=all").text
    assert eu.id in queue and us.id not in queue
    token = hidden(queue, "csrf_token")
    armed = carol.post(f"/console/drafts/{us.id}/arm", {"csrf_token": token, "version": "1"})
    assert armed.status_code == 404 and core.store.get(us.id).version == 1
    assert carol.get("/console/?account=acc_us_001&status=all").text.count("draft-link") == 0
