"""`POST /v1/webhooks/decisions`: a signed approve or reject from an external approval system."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_approvals.app import create_app
from spendgate_core.contracts.jobs import APPLY_QUEUE, apply_job_id
from spendgate_core.domain.models import DraftStatus
from tests.support.servers import serve_in_thread
from tests.support.stack import World

from .conftest import Hooks, settings_for, signed


def approve(draft_id: str, *, version: int = 1, approver: str = "alice@example.com") -> dict[str, object]:
    return {
        "draft_id": draft_id,
        "version": version,
        "decision": "approve",
        "approver": approver,
        "reason": "ok",
    }


def apply_jobs(hooks: Hooks) -> list[str]:
    return Queue(APPLY_QUEUE, connection=hooks.redis, serializer=JSONSerializer).get_job_ids()


def test_a_signed_approve_arms_confirms_and_enqueues(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    answer = hooks.send(approve(draft_id))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["decision"] == "approve" and body["approved"] is True
    assert body["draft"]["status"] == "approved" and body["draft"]["version"] == 3
    draft = hooks.core.store.get(draft_id)
    assert draft.status is DraftStatus.APPROVED
    (approval,) = draft.approvals
    assert approval.principal == "alice@example.com" and approval.channel == "webhook"
    assert apply_jobs(hooks) == [apply_job_id(draft_id, draft.version)]
    actions = [e.action for e in hooks.core.ledger.latest(limit=5)]
    assert actions[:2] == ["confirm", "arm"]


def test_a_signed_reject(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    reject = {
        "draft_id": draft_id,
        "version": 1,
        "decision": "reject",
        "approver": "bob@example.com",
        "reason": "not this week",
    }
    answer = hooks.send(reject)
    assert answer.status_code == 200, answer.text
    draft = hooks.core.store.get(draft_id)
    assert draft.status is DraftStatus.REJECTED and draft.decision_reason == "not this week"
    assert draft.decided_by == "bob@example.com"
    assert apply_jobs(hooks) == []
    no_reason = hooks.send({**reject, "draft_id": hooks.propose(skip=1), "reason": None})
    assert no_reason.status_code == 422 and "reject needs a reason" in no_reason.json()["error"]["message"]


def test_forged_or_malformed_signatures_are_401(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    body = json.dumps(approve(draft_id)).encode()
    good = signed(body)
    forged = [
        signed(body, secret="whsec_" + "A" * 32),  # wrong secret
        {**signed(b'{"other": "body"}'), "content-type": "application/json"},  # signature of another body
        {**good, "webhook-signature": "v1,AAAA"},
        {**good, "webhook-signature": "garbage-without-a-comma"},
        {**good, "webhook-signature": "v1,not*base64!"},
        {**good, "webhook-signature": "v2," + good["webhook-signature"].split(",", 1)[1]},
        {**good, "webhook-timestamp": "soon"},
        {**good, "webhook-timestamp": "nan"},
        {**good, "webhook-timestamp": "1e400"},
        {**good, "webhook-id": good["webhook-id"] + "x"},  # the id is signed too
        signed(body, at=datetime.now(UTC) - timedelta(minutes=6)),  # too old
        signed(body, at=datetime.now(UTC) + timedelta(minutes=6)),  # too new
    ]
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        forged.append({k: v for k, v in good.items() if k != name})
    for headers in forged:
        answer = hooks.post(body, headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert hooks.post(b"\xff\xfe", signed(b"x")).status_code == 401
    draft = hooks.core.store.get(draft_id)
    assert draft.status is DraftStatus.PENDING and draft.version == 1
    # The genuine request still goes through afterwards.
    assert hooks.post(body, good).status_code == 200


def test_a_replayed_webhook_id_returns_the_first_answer_and_changes_nothing(hooks: Hooks) -> None:
    draft_id, other_id = hooks.propose(), hooks.propose(skip=1)
    body = json.dumps(approve(draft_id)).encode()
    headers = signed(body, msg_id="msg_replay_me")
    first = hooks.post(body, headers)
    assert first.status_code == 200
    entries = hooks.ledger_size()
    for _ in range(3):
        again = hooks.post(body, headers)
        assert again.status_code == 200 and again.json() == first.json()
        assert again.headers["Webhook-Replayed"] == "true"
    # The same id with another (validly signed) body is still the first delivery, not a new decision.
    other = json.dumps(approve(other_id)).encode()
    assert hooks.post(other, signed(other, msg_id="msg_replay_me")).json() == first.json()
    assert hooks.ledger_size() == entries
    assert len(apply_jobs(hooks)) == 1
    assert hooks.core.store.get(other_id).version == 1

    # Refusals are remembered too: a replayed 409 stays a 409 even after the draft would allow it.
    fresh = hooks.propose(skip=2)
    stale_body = json.dumps(approve(fresh, version=5)).encode()
    stale_headers = signed(stale_body, msg_id="msg_stale")
    assert hooks.post(stale_body, stale_headers).status_code == 409
    assert hooks.post(stale_body, stale_headers).status_code == 409


def test_a_decision_for_another_version_is_409(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    answer = hooks.send(approve(draft_id, version=2))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "version_conflict"
    assert "version 1, not 2" in answer.json()["error"]["message"]
    assert hooks.core.store.get(draft_id).version == 1


def test_the_approver_must_be_a_human_approver(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    for approver in ("nobody@example.com", "claude", "readonly-bot", "victor@example.com"):
        answer = hooks.send(approve(draft_id, approver=approver))
        assert answer.status_code == 403, (approver, answer.text)
    # carol is an admin of the EU account only: the US draft does not exist for her (as on every channel).
    assert hooks.send(approve(draft_id, approver="carol@example.com")).status_code == 404
    draft = hooks.core.store.get(draft_id)
    assert draft.status is DraftStatus.PENDING and draft.version == 1 and not draft.arms


def test_four_eyes_hold_for_webhooks(hooks: Hooks) -> None:
    draft_id = hooks.propose(increase=60_000)  # above second_approver_above: two distinct humans
    first = hooks.send(approve(draft_id))
    assert first.status_code == 200 and first.json()["approved"] is False
    version = first.json()["draft"]["version"]
    assert first.json()["draft"]["status"] == "pending"
    again = hooks.send(approve(draft_id, version=version))  # alice a second time does not count
    assert again.status_code == 409 and "from someone else" in again.json()["error"]["message"]
    second = hooks.send(approve(draft_id, version=version, approver="bob@example.com"))
    assert second.status_code == 200 and second.json()["approved"] is True
    assert len(apply_jobs(hooks)) == 1


def test_bodies_are_strict(hooks: Hooks) -> None:
    draft_id = hooks.propose()
    for bad in (
        {**approve(draft_id), "status": "approved"},  # unknown field
        {**approve(draft_id), "version": "1"},  # a string is not a version
        {**approve(draft_id), "decision": "maybe"},
        {k: v for k, v in approve(draft_id).items() if k != "approver"},
        {**approve(draft_id), "reason": "bad\x00reason"},
    ):
        answer = hooks.send(bad)
        assert answer.status_code == 422, (bad, answer.text)
    not_json = b"{nope"
    assert hooks.post(not_json, signed(not_json)).status_code == 400
    assert hooks.core.store.get(draft_id).version == 1


def test_without_a_secret_the_endpoint_is_off(world: World) -> None:
    with serve_in_thread(create_app(settings_for(world))) as url:
        answer = httpx.post(f"{url}/v1/webhooks/decisions", json={}, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "webhooks_not_configured"
