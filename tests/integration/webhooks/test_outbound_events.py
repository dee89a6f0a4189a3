"""Outbound events: relayed from the stream, Standard-Webhooks-signed, delivered by RQ jobs with retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spendgate_core.adapters import events
from spendgate_core.contracts.jobs import EVENTS_QUEUE
from spendgate_core.domain import lifecycle
from spendgate_core.domain.principals import Principal
from spendgate_core.runtime.settings import load_settings
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from spendgate_executor import wiring
from spendgate_executor.events.config import EventSettings, event_config
from spendgate_executor.events.deliveries import DELIVER_JOB, Deliveries
from spendgate_executor.events.relay import EventRelay, relay_events
from spendgate_executor.settings import ExecutorSettings
from tests.support.executor import ExecutorWiring
from tests.support.servers import serve_in_thread
from tests.support.stack import KEYS, World
from tests.support.waiting import eventually

from .conftest import SECRET, Hooks


@dataclass
class Receiver:
    """A subscriber that verifies every delivery with the reference library and answers as scripted."""

    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            try:
                Webhook(SECRET).verify(body, headers)
                verified = True
            except Exception:
                verified = False
            with self.lock:
                status = self.script.pop(0) if self.script else 200
                self.received.append(
                    {"headers": headers, "body": body, "verified": verified, "status": status}
                )
            return Response(status_code=status if verified else 400)

        return Starlette(routes=[Route("/hooks/spendgate", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    found = Receiver()
    with serve_in_thread(found.app()) as url:
        yield found, f"{url}/hooks/spendgate?token=subscriber-secret"


@pytest.fixture
def executor() -> Iterator[ExecutorWiring]:
    """The executor the in-process worker runs delivery jobs with; `wire` builds it for a subscriber."""
    wired = ExecutorWiring(lambda: pytest.fail("call wire(url) before working the queue"))
    yield wired
    wired.close()


@pytest.fixture
def wire(
    world: World, monkeypatch: pytest.MonkeyPatch, executor: ExecutorWiring
) -> Callable[..., Deliveries]:
    """Wire the executor (whose delivery jobs the in-process worker runs) for one subscriber."""
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)

    def configure(url: str, *, attempts: int = 10) -> Deliveries:
        config = event_config(
            EventSettings(
                event_subscribers=f" {url} ,",
                event_secret=SECRET,
                event_max_attempts=attempts,
                event_retry_base_seconds=0.05,
                event_retry_max_seconds=0.1,
                event_lease_seconds=30,
            )
        )
        deps = executor.rewire(lambda: wiring.build(load_settings(ExecutorSettings), events=config))
        return deps.delivery.deliveries

    return configure


def work(executor: ExecutorWiring, world: World) -> None:
    """One burst of spendgate's worker, in process, on the events queue."""
    executor.work(world.redis_url, EVENTS_QUEUE)


def pump(
    executor: ExecutorWiring,
    world: World,
    client: redis.Redis,
    deliveries: Deliveries,
    url: str,
    *,
    until: Any,
) -> None:
    """What the worker's relay task does every second, until `until()` holds."""

    def settled() -> bool:
        if until():
            return True
        relay_events(client, deliveries, subscribers=(url,), consumer="worker-1", keys=KEYS)
        deliveries.enqueue_due()
        work(executor, world)
        return False

    eventually(settled, timeout=20, interval=0.03, what="the deliveries to settle")


def test_a_failing_subscriber_is_retried_and_gets_the_event_once(
    world: World,
    hooks: Hooks,
    receiver: tuple[Receiver, str],
    wire: Callable[..., Deliveries],
    executor: ExecutorWiring,
) -> None:
    subscriber, url = receiver
    subscriber.script = [500, 500]
    deliveries = wire(url)
    relay_events(
        hooks.redis, deliveries, subscribers=(url,), consumer="worker-1", keys=KEYS
    )  # the group exists first
    draft_id = hooks.propose()

    relay_events(hooks.redis, deliveries, subscribers=(url,), consumer="worker-1", keys=KEYS)
    assert deliveries.enqueue_due() == 1
    assert deliveries.enqueue_due() == 0  # leased to the job just enqueued
    (job_id,) = Queue(EVENTS_QUEUE, connection=hooks.redis, serializer=JSONSerializer).get_job_ids()
    job = Job.fetch(job_id, connection=hooks.redis, serializer=JSONSerializer)
    assert job.func_name == DELIVER_JOB and list(job.args[1:3]) == [url, 1]
    event_id = job.args[0]
    assert job_id.startswith(f"deliver-{event_id}-") and job_id.endswith("-a1")

    pump(
        executor,
        world,
        hooks.redis,
        deliveries,
        url,
        until=lambda: any(r["status"] == 200 for r in subscriber.received),
    )
    pump(
        executor, world, hooks.redis, deliveries, url, until=lambda: True
    )  # one more pass: nothing is sent again
    assert [r["status"] for r in subscriber.received] == [500, 500, 200]
    assert all(r["verified"] for r in subscriber.received)
    assert {r["headers"]["webhook-id"] for r in subscriber.received} == {event_id}
    assert len({r["body"] for r in subscriber.received}) == 1  # the same bytes on every attempt
    event = json.loads(subscriber.received[0]["body"])
    assert event["type"] == "draft.created" and event["id"] == event_id
    assert event["data"]["id"] == draft_id and event["data"]["status"] == "pending"

    log = events.recent_deliveries(hooks.redis, limit=10, keys=KEYS)
    assert [(e["attempt"], e["outcome"], e["http_status"]) for e in log] == [
        (3, "delivered", 200),
        (2, "retrying", 500),
        (1, "retrying", 500),
    ]
    assert log[0]["url"].endswith("/hooks/spendgate")  # no query string (it may hold a token)
    assert log[0]["type"] == "draft.created" and log[0]["draft_id"] == draft_id
    assert log[1]["next_attempt_at"] is not None and log[0]["next_attempt_at"] is None
    assert hooks.redis.zcard(KEYS.deliveries_due()) == 0


def test_a_delivery_gives_up_after_its_budget(
    world: World,
    hooks: Hooks,
    receiver: tuple[Receiver, str],
    wire: Callable[..., Deliveries],
    executor: ExecutorWiring,
) -> None:
    subscriber, url = receiver
    subscriber.script = [503] * 10
    deliveries = wire(url, attempts=3)
    relay_events(hooks.redis, deliveries, subscribers=(url,), consumer="worker-1", keys=KEYS)
    hooks.propose()
    pump(
        executor,
        world,
        hooks.redis,
        deliveries,
        url,
        until=lambda: hooks.redis.zcard(KEYS.deliveries_due()) == 0 and subscriber.received,
    )
    pump(executor, world, hooks.redis, deliveries, url, until=lambda: True)
    assert len(subscriber.received) == 3
    outcomes = [e["outcome"] for e in events.recent_deliveries(hooks.redis, keys=KEYS)]
    assert outcomes == ["failed", "retrying", "retrying"]


def test_only_the_spec_event_types_go_out(
    world: World,
    hooks: Hooks,
    receiver: tuple[Receiver, str],
    people: dict[str, Principal],
    wire: Callable[..., Deliveries],
    executor: ExecutorWiring,
) -> None:
    subscriber, url = receiver
    deliveries = wire(url)
    relay_events(hooks.redis, deliveries, subscribers=(url,), consumer="worker-1", keys=KEYS)
    draft_id = hooks.propose()
    core: CoreDeps = hooks.core
    armed = approval.arm(
        deps=core, principal=people["alice"], draft_id=draft_id, if_match='"1"', channel="rest"
    )
    approval.confirm(
        deps=core,
        principal=people["alice"],
        draft_id=draft_id,
        confirm_token=armed.confirm_token,
        channel="rest",
        queue=_NoQueue(),
    )
    pump(executor, world, hooks.redis, deliveries, url, until=lambda: len(subscriber.received) >= 2)
    pump(executor, world, hooks.redis, deliveries, url, until=lambda: True)
    types = [json.loads(r["body"])["type"] for r in subscriber.received]
    assert sorted(types) == ["draft.approved", "draft.created"]  # draft.armed stays internal


class _NoQueue:
    def enqueue_apply(self, draft_id: str, version: int) -> None:
        return None


def test_the_worker_relay_task_does_all_three_steps(
    world: World,
    hooks: Hooks,
    receiver: tuple[Receiver, str],
    wire: Callable[..., Deliveries],
    executor: ExecutorWiring,
) -> None:
    subscriber, url = receiver
    deliveries = wire(url)
    relay = EventRelay(
        redis=hooks.redis,
        core=hooks.core,
        deliveries=deliveries,
        subscribers=(url,),
        consumer="worker-1",
        keys=KEYS,
    )
    relay.step()  # creates the group (and reconciles: nothing lost yet)
    draft_id = hooks.propose()
    # Lose an event on purpose: a decision saved without its announcement (a crash in between).
    draft = hooks.core.store.get(draft_id)
    hooks.core.store.save(
        lifecycle.reject(draft, principal="bob@example.com", reason="no", now=hooks.core.clock.now()),
        expected_version=draft.version,
    )
    relay.reconcile_seconds = 0  # reconcile on this tick, not 30 s later
    hooks.redis.delete(KEYS.reconcile_lock())
    relay.step()  # relays draft.created; reconcile publishes the lost draft.rejected
    relay.step()  # relays draft.rejected
    work(executor, world)
    types = sorted(json.loads(r["body"])["type"] for r in subscriber.received)
    assert types == ["draft.created", "draft.rejected"]
    assert all(r["verified"] for r in subscriber.received)
