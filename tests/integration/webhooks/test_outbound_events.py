"""Outbound events: relayed from the stream, Standard-Webhooks-signed, delivered by RQ jobs with retries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
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
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from spendgate_executor.events import (
    DELIVER_JOB,
    DUE_KEY,
    EventRelay,
    EventSettings,
    configure_delivery,
    enqueue_due,
    event_config,
    relay_events,
    reset_delivery,
)
from tests.support.servers import serve_in_thread
from tests.support.stack import World

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


def configure(url: str, *, attempts: int = 10) -> tuple[str, ...]:
    config = event_config(
        EventSettings(
            event_subscribers=f" {url} ,",
            event_secret=SECRET,
            event_max_attempts=attempts,
            event_retry_base_seconds=0.05,
            event_retry_max_seconds=0.1,
        )
    )
    configure_delivery(config)
    return config.subscribers


@pytest.fixture(autouse=True)
def _delivery_wiring() -> Iterator[None]:
    yield
    reset_delivery()


def work(world: World) -> None:
    """One burst of an in-process worker on the events queue (its own connection, as the worker has)."""
    connection = redis.Redis.from_url(world.redis_url)
    try:
        queue = Queue(EVENTS_QUEUE, connection=connection, serializer=JSONSerializer)
        SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True)
    finally:
        connection.close()


def pump(
    world: World, client: redis.Redis, subscribers: tuple[str, ...], *, until: Any, timeout: float = 20
) -> None:
    """What the worker's relay thread does every second, until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        relay_events(client, subscribers=subscribers, consumer="worker-1")
        enqueue_due(client, lease_seconds=30)
        work(world)
        time.sleep(0.03)


def test_a_failing_subscriber_is_retried_and_gets_the_event_once(
    world: World, hooks: Hooks, receiver: tuple[Receiver, str]
) -> None:
    subscriber, url = receiver
    subscriber.script = [500, 500]
    subscribers = configure(url)
    relay_events(hooks.redis, subscribers=subscribers, consumer="worker-1")  # the relay's group exists first
    draft_id = hooks.propose()

    relay_events(hooks.redis, subscribers=subscribers, consumer="worker-1")
    assert enqueue_due(hooks.redis, lease_seconds=30) == 1
    (job_id,) = Queue(EVENTS_QUEUE, connection=hooks.redis, serializer=JSONSerializer).get_job_ids()
    job = Job.fetch(job_id, connection=hooks.redis, serializer=JSONSerializer)
    assert job.func_name == DELIVER_JOB and list(job.args[1:]) == [url, 1]
    event_id = job.args[0]
    assert job_id.startswith(f"deliver-{event_id}-") and job_id.endswith("-a1-1")

    pump(world, hooks.redis, subscribers, until=lambda: any(r["status"] == 200 for r in subscriber.received))
    pump(world, hooks.redis, subscribers, until=lambda: True)  # one more pass: nothing is sent again
    assert [r["status"] for r in subscriber.received] == [500, 500, 200]
    assert all(r["verified"] for r in subscriber.received)
    assert {r["headers"]["webhook-id"] for r in subscriber.received} == {event_id}
    assert len({r["body"] for r in subscriber.received}) == 1  # the same bytes on every attempt
    event = json.loads(subscriber.received[0]["body"])
    assert event["type"] == "draft.created" and event["id"] == event_id
    assert event["data"]["id"] == draft_id and event["data"]["status"] == "pending"

    log = events.recent_deliveries(hooks.redis, limit=10)
    assert [(e["attempt"], e["outcome"], e["http_status"]) for e in log] == [
        (3, "delivered", 200),
        (2, "retrying", 500),
        (1, "retrying", 500),
    ]
    assert log[0]["url"].endswith("/hooks/spendgate")  # no query string (it may hold a token)
    assert log[0]["type"] == "draft.created" and log[0]["draft_id"] == draft_id
    assert log[1]["next_attempt_at"] is not None and log[0]["next_attempt_at"] is None
    assert hooks.redis.zcard(DUE_KEY) == 0


def test_a_delivery_gives_up_after_its_budget(
    world: World, hooks: Hooks, receiver: tuple[Receiver, str]
) -> None:
    subscriber, url = receiver
    subscriber.script = [503] * 10
    subscribers = configure(url, attempts=3)
    relay_events(hooks.redis, subscribers=subscribers, consumer="worker-1")
    hooks.propose()
    pump(
        world, hooks.redis, subscribers, until=lambda: hooks.redis.zcard(DUE_KEY) == 0 and subscriber.received
    )
    pump(world, hooks.redis, subscribers, until=lambda: True)
    assert len(subscriber.received) == 3
    outcomes = [e["outcome"] for e in events.recent_deliveries(hooks.redis)]
    assert outcomes == ["failed", "retrying", "retrying"]


def test_only_the_spec_event_types_go_out(
    world: World, hooks: Hooks, receiver: tuple[Receiver, str], people: dict[str, Principal]
) -> None:
    subscriber, url = receiver
    subscribers = configure(url)
    relay_events(hooks.redis, subscribers=subscribers, consumer="worker-1")
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
    pump(world, hooks.redis, subscribers, until=lambda: len(subscriber.received) >= 2)
    pump(world, hooks.redis, subscribers, until=lambda: True)
    types = [json.loads(r["body"])["type"] for r in subscriber.received]
    assert sorted(types) == ["draft.approved", "draft.created"]  # draft.armed stays internal


class _NoQueue:
    def enqueue_apply(self, draft_id: str, version: int) -> None:
        return None


def test_the_worker_relay_thread_does_all_three_steps(
    world: World, hooks: Hooks, receiver: tuple[Receiver, str]
) -> None:
    subscriber, url = receiver
    configure(url)
    config = event_config(EventSettings(event_subscribers=url, event_secret=SECRET))
    relay = EventRelay(redis=hooks.redis, core=hooks.core, config=config, consumer="worker-1")
    relay.tick()  # creates the group (and reconciles: nothing lost yet)
    draft_id = hooks.propose()
    # Lose an event on purpose: a decision saved without its announcement (a crash in between).
    draft = hooks.core.store.get(draft_id)
    hooks.core.store.save(
        lifecycle.reject(draft, principal="bob@example.com", reason="no", now=hooks.core.clock.now()),
        expected_version=draft.version,
    )
    relay.reconcile_seconds = 0  # reconcile on this tick, not 30 s later
    hooks.redis.delete("sg:events:reconcile:lock")
    relay.tick()  # relays draft.created; reconcile publishes the lost draft.rejected
    relay.tick()  # relays draft.rejected
    work(world)
    types = sorted(json.loads(r["body"])["type"] for r in subscriber.received)
    assert types == ["draft.created", "draft.rejected"]
    assert all(r["verified"] for r in subscriber.received)
