"""The REST decision path on the real server: read with ETag, arm, confirm, four eyes, reject, rollback."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from spendgate_core.contracts.jobs import (
    APPLY_JOB,
    APPLY_QUEUE,
    FAILURE_TTL,
    JOB_TIMEOUT,
    RESULT_TTL,
    apply_job_id,
)
from spendgate_core.contracts.views import draft_view
from spendgate_core.domain.policy import PolicyBook
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases import deciding
from spendgate_core.usecases.deps import CoreDeps
from tests.support.stack import EU, US, World

from .conftest import Api, MovableClock, mark_applied, propose_increase

QUEUE_KEY = f"rq:queue:{APPLY_QUEUE}"


def queued_jobs(redis_client: redis.Redis) -> list[str]:
    return [j.decode() for j in redis_client.lrange(QUEUE_KEY, 0, -1)]


def test_list_and_get_with_etag(
    api: Api, core: CoreDeps, people: dict[str, Principal], clock: MovableClock
) -> None:
    us = propose_increase(core, people["agent"], increase=5_000)
    clock.advance(1)
    eu = propose_increase(core, people["agent"], increase=5_000, account=EU)

    listed = api.call("alice", "GET", "/v1/drafts")
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["drafts"]] == [eu, us]  # newest first
    only_eu = api.call("alice", "GET", "/v1/drafts", params={"account_id": EU, "status": "pending"})
    assert [d["id"] for d in only_eu.json()["drafts"]] == [eu]
    assert api.call("alice", "GET", "/v1/drafts", params={"status": "approved"}).json() == {"drafts": []}
    assert len(api.call("alice", "GET", "/v1/drafts", params={"limit": 1}).json()["drafts"]) == 1
    blank = api.call("alice", "GET", "/v1/drafts?status=&account_id=&limit=50")
    assert blank.status_code == 200 and len(blank.json()["drafts"]) == 2

    got = api.get_draft("alice", us)
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    draft = core.store.get(us)
    body = got.json()
    decision = body.pop("decision")  # what this caller may do next: core's decision query
    assert body == draft_view(draft, url=f"http://approvals.test/console/drafts/{us}")
    assert decision["open"] == ["arm", "reject"] and decision["principal"] == "alice@example.com"
    assert decision["actions"]["confirm"]["refusal"] == "no_arm"
    assert got.json()["status"] == "pending" and got.json()["changes"][0]["delta"] == "50.00"


def test_arm_needs_a_current_if_match(api: Api, core: CoreDeps, people: dict[str, Principal]) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    path = f"/v1/drafts/{draft_id}/arm"

    missing = api.call("alice", "POST", path)
    assert missing.status_code == 428
    assert missing.json()["error"]["code"] == "precondition_required"
    stale = api.call("alice", "POST", path, headers={"If-Match": '"7"'})
    assert stale.status_code == 412 and "version 1" in stale.json()["error"]["message"]

    armed = api.call("alice", "POST", path, headers={"If-Match": '"1"'})
    assert armed.status_code == 200, armed.text
    body = armed.json()
    assert set(body) == {"confirm_token", "confirm_before", "draft"}
    assert body["draft"]["status"] == "armed" and body["draft"]["version"] == 2
    assert armed.headers["ETag"] == '"2"' and armed.headers["Cache-Control"] == "no-store"
    assert body["draft"]["armed_by"][0]["principal"] == "alice@example.com"
    # The draft moved on: the old ETag is stale now.
    assert api.call("bob", "POST", path, headers={"If-Match": '"1"'}).status_code == 412


def test_confirm_approves_and_enqueues_one_apply_job(
    api: Api, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    armed = api.arm("alice", draft_id).json()

    confirmed = api.confirm("alice", draft_id, armed["confirm_token"])
    assert confirmed.status_code == 200, confirmed.text
    draft = confirmed.json()
    assert draft["status"] == "approved" and draft["version"] == 3
    assert [a["principal"] for a in draft["approvals"]] == ["alice@example.com"]
    assert draft["approvals"][0]["channel"] == "rest"

    job_id = apply_job_id(draft_id, 3)
    assert queued_jobs(redis_client) == [job_id]
    job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
    assert job.func_name == APPLY_JOB and list(job.args) == [draft_id, 3]
    # The same RQ options as the executor's own enqueues: both send the contract's one ApplyJob.
    assert job.timeout == JOB_TIMEOUT.total_seconds()
    assert job.failure_ttl == FAILURE_TTL.total_seconds() and job.result_ttl == RESULT_TTL.total_seconds()

    # A retried confirm returns the recorded outcome: same state, no second job.
    again = api.confirm("alice", draft_id, armed["confirm_token"])
    assert again.status_code == 200 and again.json() == draft
    assert queued_jobs(redis_client) == [job_id]
    # Decided drafts cannot be re-armed or rejected.
    assert (
        api.call("bob", "POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": '"3"'}).status_code == 409
    )
    assert api.call("bob", "POST", f"/v1/drafts/{draft_id}/reject", json={"reason": "no"}).status_code == 409


def test_confirm_by_another_human_than_armed_is_refused(
    api: Api, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    alice_token = api.arm("alice", draft_id).json()["confirm_token"]

    not_armed = api.confirm("bob", draft_id, alice_token)
    assert not_armed.status_code == 409 and "no live arm" in not_armed.json()["error"]["message"]
    api.arm("bob", draft_id)
    wrong_token = api.confirm("bob", draft_id, alice_token)
    assert wrong_token.status_code == 403
    assert api.get_draft("alice", draft_id).json()["approvals"] == []
    assert queued_jobs(redis_client) == []


def test_confirm_after_the_arm_window_is_refused_and_the_draft_is_pending_again(
    api: Api, core: CoreDeps, people: dict[str, Principal], clock: MovableClock, redis_client: redis.Redis
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    armed = api.arm("alice", draft_id).json()
    clock.advance(121)  # policy arm_window_seconds = 120

    late = api.confirm("alice", draft_id, armed["confirm_token"])
    assert late.status_code == 409
    assert "arm window" in late.json()["error"]["message"]
    after = api.get_draft("alice", draft_id).json()
    assert after["status"] == "pending" and after["armed_by"] == [] and after["approvals"] == []
    assert queued_jobs(redis_client) == []
    assert core.ledger.latest(account_id=US, limit=1)[0].action == "arm_expired"
    # The same human can start over.
    assert api.approve("alice", draft_id).json()["status"] == "approved"


def test_four_eyes_above_second_approver_threshold(
    api: Api, core: CoreDeps, people: dict[str, Principal], redis_client: redis.Redis
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=60_000)  # +600.00 USD > 500.00
    assert api.get_draft("alice", draft_id).json()["required_approvals"] == 2

    first = api.approve("alice", draft_id)
    assert first.status_code == 200 and first.json()["status"] == "pending"
    assert len(first.json()["approvals"]) == 1
    assert queued_jobs(redis_client) == []

    # The same human twice counts once: no second arm, and a repeated confirm changes nothing.
    again = api.call("alice", "POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": '"3"'})
    assert again.status_code == 409 and "from someone else" in again.json()["error"]["message"]
    repeat = api.confirm("alice", draft_id, "whatever")
    assert repeat.status_code == 200 and repeat.json() == first.json()
    assert queued_jobs(redis_client) == []

    second = api.approve("bob", draft_id)
    assert second.status_code == 200 and second.json()["status"] == "approved"
    assert {a["principal"] for a in second.json()["approvals"]} == {"alice@example.com", "bob@example.com"}
    assert queued_jobs(redis_client) == [apply_job_id(draft_id, second.json()["version"])]


def test_reject_is_final_and_idempotent(api: Api, core: CoreDeps, people: dict[str, Principal]) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    path = f"/v1/drafts/{draft_id}/reject"

    rejected = api.call("bob", "POST", path, json={"reason": "  not this week  "})
    assert rejected.status_code == 200
    body = rejected.json()
    assert body["status"] == "rejected" and body["decided_by"] == "bob@example.com"
    assert body["decision_reason"] == "not this week"
    assert rejected.headers["ETag"] == f'"{body["version"]}"'

    retry = api.call("bob", "POST", path, json={"reason": "not this week"})
    assert retry.status_code == 200 and retry.json() == body
    assert api.arm("alice", draft_id).status_code == 409
    # A stale ETag is still 412 (SPEC: "412 if stale"), before the draft's state is looked at.
    stale = api.call("alice", "POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text


def test_rollback_creates_a_draft_its_requester_cannot_approve(
    api: Api, core: CoreDeps, people: dict[str, Principal], world: World
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    pending = api.call("alice", "POST", f"/v1/drafts/{draft_id}/rollback")
    assert pending.status_code == 409 and "pending" in pending.json()["error"]["message"]

    original = api.approve("alice", draft_id).json()
    assert (
        api.call("alice", "POST", f"/v1/drafts/{draft_id}/rollback").status_code == 409
    )  # approved ≠ applied
    mark_applied(core, world.adsim_url, draft_id)

    assert api.call("sgh_not-a-token", "POST", f"/v1/drafts/{draft_id}/rollback").status_code == 401
    assert api.call("viewer", "POST", f"/v1/drafts/{draft_id}/rollback").status_code == 403
    created = api.call("alice", "POST", f"/v1/drafts/{draft_id}/rollback")
    assert created.status_code == 201, created.text
    rollback = created.json()
    assert created.headers["Location"] == f"/v1/drafts/{rollback['id']}"
    assert rollback["kind"] == "rollback" and rollback["rollback_of"] == draft_id
    assert rollback["proposed_by"] == {"name": "alice@example.com", "kind": "human"}
    change, first = rollback["changes"][0], original["changes"][0]
    assert (change["before"], change["after"]) == (first["after"], first["before"])

    own = api.call("alice", "POST", f"/v1/drafts/{rollback['id']}/arm", headers={"If-Match": '"1"'})
    assert own.status_code == 403 and "a different approver must decide it" in own.json()["error"]["message"]
    assert api.approve("bob", rollback["id"]).json()["status"] == "approved"


def test_an_unreachable_redis_is_503_not_500(world: World, clock: MovableClock) -> None:
    from spendgate_approvals.app import create_app
    from tests.support.processes import closed_port
    from tests.support.servers import serve_in_thread

    from .conftest import settings_for

    with (
        closed_port() as port,
        serve_in_thread(
            create_app(settings_for(world, redis_url=f"redis://127.0.0.1:{port}/0"), clock=clock)
        ) as url,
    ):
        assert httpx.get(f"{url}/healthz").json() == {"ok": True}
        down = httpx.get(f"{url}/readyz", timeout=30)
        assert down.status_code == 503 and down.json()["error"]["code"] == "not_ready"
        alice = {"Authorization": f"Bearer {world.tokens.alice}"}
        listed = httpx.get(f"{url}/v1/drafts", headers=alice, timeout=30)
        assert listed.status_code == 503 and listed.json()["error"]["code"] == "unavailable"
        assert listed.headers["Retry-After"] == "1"


def test_a_policy_the_currency_cannot_express_still_lets_a_draft_be_read(
    core: CoreDeps, people: dict[str, Principal], tmp_path: Path
) -> None:
    draft_id = propose_increase(core, people["agent"], increase=5_000)
    draft = core.store.get(draft_id)
    bad = tmp_path / "policy.toml"
    bad.write_text(f'[accounts."{draft.account_id}"]\nenvelope_24h = "0.001"\n', "utf-8")  # USD has 2 digits
    misconfigured = dataclasses.replace(core, policies=PolicyBook.load(bad))
    options = deciding.options_for(misconfigured, people["alice"], draft)
    assert options["arm"].open and options.approvals_needed == draft.required_approvals
