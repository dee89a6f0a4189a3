"""One namespace end to end: with `SPENDGATE_REDIS_NAMESPACE={tenant}`, a draft proposed through core, armed
and confirmed through the approval API and applied by the worker (through a failed attempt, its retry and
an opened circuit) leaves in Redis only keys of the namespace, all in its one Cluster slot, and RQ's own."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import redis
from redis.crc import key_slot

from spendgate_approvals.app import create_app
from spendgate_approvals.console.sessions import SessionStore
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_approvals.slack.client import MessageRef
from spendgate_approvals.slack.notifier import slack_retries
from spendgate_approvals.slack.state import SlackState
from spendgate_approvals.webhooks.inbox import StoredResponse, WebhookInbox
from spendgate_core.adapters.keys import Keys
from spendgate_core.domain.models import DraftStatus
from spendgate_executor.applying import Outcome, apply_draft
from spendgate_executor.events.relay import EventRelay
from spendgate_executor.sweep import Sweeper
from tests.integration.executor.harness import Harness
from tests.support.servers import serve_in_thread
from tests.support.stack import US, World

NAMESPACE = "{tenant}"


@pytest.fixture(autouse=True)
def _namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set before `harness` runs: it wires core and the executor from the environment, as entrypoints do.
    monkeypatch.setenv("SPENDGATE_REDIS_NAMESPACE", NAMESPACE)


def test_every_key_of_an_approval_flow_is_in_the_namespace_slot_or_rqs(
    harness: Harness, world: World, redis_client: redis.Redis
) -> None:
    deps = harness.configure(SPENDGATE_CIRCUIT_FAILURE_THRESHOLD="1", SPENDGATE_CIRCUIT_COOLDOWN_SECONDS="1")
    keys = Keys(NAMESPACE)
    assert deps.keys == keys

    # propose through core, as the gateway does; arm and confirm through the approval API
    draft = harness.propose_change("cmp_us_001", delta=1000)
    app = create_app(world.settings(ApprovalsSettings), clock=harness.clock)
    alice = {"Authorization": f"Bearer {world.tokens.alice}"}
    with serve_in_thread(app) as url, httpx.Client(base_url=url, headers=alice, timeout=30) as api:
        etag = api.get(f"/v1/drafts/{draft.id}").raise_for_status().headers["ETag"]
        armed = api.post(f"/v1/drafts/{draft.id}/arm", headers={"If-Match": etag}).raise_for_status()
        token = armed.json()["confirm_token"]
        api.post(f"/v1/drafts/{draft.id}/confirm", json={"confirm_token": token}).raise_for_status()
    assert harness.get(draft.id).status is DraftStatus.APPROVED

    # the worker: a failed attempt (lease, attempt count, retry due set, circuit), then the job on RQ
    harness.faults(error_rate=1.0, error_status=503, scope="all")
    assert apply_draft(deps, draft.id) is Outcome.RETRY
    assert deps.breaker.is_open(US)
    harness.faults()
    harness.clock.advance(seconds=2)  # past the retry's backoff and the circuit's cool-down
    sweeper = Sweeper(deps, interval_seconds=1)
    sweeper.tick()  # under the sweep lock: the due retry goes back onto the queue
    sweeper.stop()
    assert harness.drive(draft.id).status is DraftStatus.APPLIED
    EventRelay(
        redis=deps.redis,
        core=deps.core,
        keys=deps.keys,
        deliveries=deps.delivery.deliveries,
        subscribers=(),
        consumer=deps.worker_id,
    ).step()  # the reconcile pass under its lock

    written = sorted(k.decode() for k in redis_client.scan_iter(count=1000))
    ours = [k for k in written if k.startswith(f"{NAMESPACE}:")]
    assert [k for k in written if k not in ours and not k.startswith("rq:")] == []
    assert {key_slot(k.encode()) for k in ours} == {key_slot(NAMESPACE.encode())}
    for key in (
        keys.draft(draft.id),
        keys.ledger_entries(),
        keys.ledger_account(US),
        keys.events(),
        keys.circuit_accounts(),
        keys.reconcile_lock(),
    ):
        assert key in ours, (key, ours)
    assert any(k.startswith("rq:") for k in written)  # RQ's keys are RQ's: outside the namespace


def test_the_services_own_state_is_in_the_namespace_slot_too(
    harness: Harness, world: World, redis_client: redis.Redis
) -> None:
    """What the flow above does not reach: console sessions, the webhook inbox, Slack's state and retries,
    the executor's leases, retries and bookkeeping of outbound deliveries."""
    keys, deps = Keys(NAMESPACE), harness.executor
    sessions = SessionStore(redis_client, clock=harness.clock, ttl=timedelta(hours=1), keys=keys)
    _, session = sessions.start(harness.alice)
    sessions.flash(session, "ok", "signed in")
    inbox = WebhookInbox(redis_client, keys=keys)
    assert inbox.begin("msg_1") is None
    inbox.finish("msg_1", StoredResponse(200, {}))
    slack = SlackState(redis_client, keys=keys)
    slack.remember_message("drf_1", MessageRef(channel="C1", ts="1.0"), version=1)
    slack.keep_token("drf_1", "U0ALICE", "token", ttl=timedelta(minutes=1))
    assert slack.first_time(slack_user="U0ALICE", action_id="arm", action_ts="1", draft_id="drf_1")
    with slack.locked("drf_1"):
        slack_retries(redis_client, clock=harness.clock, keys=keys).add("show drf_1", attempts_made=1)
    lease = deps.leases.acquire("drf_1")
    assert lease is not None
    with lease:
        deps.retries.count_attempt("drf_1")
        deps.retries.note_error("drf_1", "HTTP 503")
        deps.retries.record_job("drf_1", "job-1")
        deps.retries.next_job_seq("drf_1")
        deps.retries.schedule("drf_1", at=harness.clock.now())
    deps.breaker.record_failure(US, now=harness.clock.now())
    deliveries = deps.delivery.deliveries
    deliveries.due.add("evt_1 https://example.com/hook", once_for=timedelta(days=1))
    deliveries.enqueue_due()

    written = sorted(k.decode() for k in redis_client.scan_iter(count=1000))
    ours = [k for k in written if k.startswith(f"{NAMESPACE}:")]
    assert [k for k in written if k not in ours and not k.startswith("rq:")] == []
    assert {key_slot(k.encode()) for k in ours} == {key_slot(NAMESPACE.encode())}
    assert len(ours) >= 15, ours
