"""The draft event stream on real Redis: what each use case publishes, once per version, best effort."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta

import pytest
import redis

from spendgate_core.adapters import events
from spendgate_core.contracts.views import draft_view
from spendgate_core.domain import lifecycle
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import Conflict, DuplicateDraft
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from tests.support import drafting
from tests.support.stack import KEYS

from .conftest import Hooks


class _NoQueue:
    def enqueue_apply(self, draft_id: str, version: int) -> None:
        return None


def stream(client: redis.Redis) -> list[dict[str, str]]:
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in client.xrange(KEYS.events())]


def test_each_use_case_announces_its_transition(hooks: Hooks, people: dict[str, Principal]) -> None:
    core, alice, bob = hooks.core, people["alice"], people["bob"]
    big = hooks.propose(increase=60_000)  # needs two approvers
    armed = approval.arm(deps=core, principal=alice, draft_id=big, if_match='"1"', channel="rest")
    approval.confirm(
        deps=core,
        principal=alice,
        draft_id=big,
        confirm_token=armed.confirm_token,
        channel="rest",
        queue=_NoQueue(),
    )
    armed = approval.arm(deps=core, principal=bob, draft_id=big, if_match='"3"', channel="rest")
    approval.confirm(
        deps=core,
        principal=bob,
        draft_id=big,
        confirm_token=armed.confirm_token,
        channel="rest",
        queue=_NoQueue(),
    )
    rejected = hooks.propose(skip=10)
    approval.reject(deps=core, principal=bob, draft_id=rejected, reason="no", channel="rest")
    withdrawn = hooks.propose(skip=11)
    drafting.withdraw_draft(
        deps=core, principal=people["agent"], draft_id=withdrawn, reason="changed my mind"
    )

    seen = [(e["draft_id"], e["type"]) for e in stream(hooks.redis)]
    assert seen == [
        (big, "draft.created"),
        (big, "draft.armed"),
        (big, "draft.approval_recorded"),
        (big, "draft.armed"),
        (big, "draft.approved"),
        (rejected, "draft.created"),
        (rejected, "draft.rejected"),
        (withdrawn, "draft.created"),
        (withdrawn, "draft.withdrawn"),
    ]
    last = json.loads(stream(hooks.redis)[4]["payload"])
    assert re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", last["id"]) and last["type"] == "draft.approved"
    draft = core.store.get(big)
    assert last["data"] == draft_view(draft, url=core.draft_url(big))
    assert last["created_at"].endswith("+00:00")


def test_a_lapsed_arm_is_announced(hooks: Hooks, people: dict[str, Principal]) -> None:
    core = hooks.core
    draft_id = hooks.propose()
    armed = approval.arm(
        deps=core, principal=people["alice"], draft_id=draft_id, if_match='"1"', channel="rest"
    )
    later = dataclasses.replace(core, clock=_Later(core, seconds=121))
    with pytest.raises(Conflict, match="arm window"):
        approval.confirm(
            deps=later,
            principal=people["alice"],
            draft_id=draft_id,
            confirm_token=armed.confirm_token,
            channel="rest",
            queue=_NoQueue(),
        )
    assert [e["type"] for e in stream(hooks.redis)][-1] == "draft.disarmed"


def test_one_event_per_draft_version(hooks: Hooks) -> None:
    draft = hooks.core.store.get(hooks.propose())
    assert (
        events.publish(hooks.redis, type="draft.created", draft=draft, now=hooks.core.clock.now(), keys=KEYS)
        is None
    )  # already announced
    assert len(stream(hooks.redis)) == 1


def test_a_new_draft_is_announced_in_the_same_step_as_it_is_stored(hooks: Hooks) -> None:
    """The create script writes `draft.created` itself, so no crash can fall between the two; a refused
    create announces nothing."""
    draft_id = hooks.propose()
    with pytest.raises(DuplicateDraft):
        hooks.propose()  # the same campaign field
    assert [(e["draft_id"], e["type"]) for e in stream(hooks.redis)] == [(draft_id, "draft.created")]
    assert hooks.redis.get(KEYS.event_marker(draft_id, 1)) is not None
    assert (
        events.reconcile(store=hooks.core.store, client=hooks.redis, now=hooks.core.clock.now(), keys=KEYS)
        == []
    )


def test_a_new_draft_stands_when_its_event_cannot_be_written(
    hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    hooks.redis.set(KEYS.events(), "not a stream")  # XADD fails inside the create script
    draft_id = hooks.propose()
    assert hooks.core.store.get(draft_id).status.value == "pending"
    assert "could not announce new draft " + draft_id in caplog.text
    assert hooks.redis.get(KEYS.event_marker(draft_id, 1)) is None  # left for reconcile
    hooks.redis.delete(KEYS.events())
    now = hooks.core.clock.now()
    assert events.reconcile(store=hooks.core.store, client=hooks.redis, now=now, keys=KEYS) == [draft_id]
    assert [e["type"] for e in stream(hooks.redis)] == ["draft.created"]


def test_a_publish_that_cannot_be_written_leaves_no_marker(hooks: Hooks) -> None:
    draft = hooks.core.store.get(hooks.propose())
    rejected = draft.model_copy(update={"version": 2})
    hooks.redis.rename(KEYS.events(), "moved-away")
    hooks.redis.set(KEYS.events(), "not a stream")
    assert (
        events.publish(
            hooks.redis, type="draft.rejected", draft=rejected, now=hooks.core.clock.now(), keys=KEYS
        )
        is None
    )
    assert hooks.redis.get(KEYS.event_marker(draft.id, 2)) is None  # so reconcile may announce it later
    hooks.redis.delete(KEYS.events())
    assert (
        events.publish(
            hooks.redis, type="draft.rejected", draft=rejected, now=hooks.core.clock.now(), keys=KEYS
        )
        is not None
    )


def test_a_failing_publish_does_not_fail_the_decision(hooks: Hooks, people: dict[str, Principal]) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    broken: CoreDeps = dataclasses.replace(hooks.core, events=events.RedisEvents(dead, keys=KEYS))
    draft_id = hooks.propose()
    rejected = approval.reject(
        deps=broken, principal=people["bob"], draft_id=draft_id, reason="no", channel="rest"
    )
    assert rejected.status.value == "rejected"
    assert [e["type"] for e in stream(hooks.redis)] == ["draft.created"]
    dead.close()


def test_reconcile_announces_what_was_lost_once(hooks: Hooks, people: dict[str, Principal]) -> None:
    core = hooks.core
    draft_id = hooks.propose()
    # A crash between saving the decision and publishing it: the state changed, nothing was announced.
    draft = core.store.get(draft_id)
    lost = core.store.save(
        lifecycle.reject(draft, principal="bob@example.com", reason="no", now=core.clock.now()),
        expected_version=draft.version,
    )
    assert events.reconcile(
        store=core.store, client=hooks.redis, now=core.clock.now(), url_for=core.draft_url, keys=KEYS
    ) == [draft_id]
    assert events.reconcile(store=core.store, client=hooks.redis, now=core.clock.now(), keys=KEYS) == []
    last = stream(hooks.redis)[-1]
    assert last["type"] == "draft.rejected" and json.loads(last["payload"])["data"]["version"] == lost.version
    # Outside the lookback nothing is dug up.
    later = core.clock.now() + timedelta(hours=7)
    hooks.redis.delete(KEYS.event_marker(draft_id, lost.version))
    assert events.reconcile(store=core.store, client=hooks.redis, now=later, keys=KEYS) == []


def test_consumer_groups_share_and_acknowledge(hooks: Hooks) -> None:
    events.ensure_group(hooks.redis, "test", keys=KEYS)
    events.ensure_group(hooks.redis, "test", keys=KEYS)  # idempotent
    first, second = hooks.propose(), hooks.propose(skip=1)
    one = events.read_new(hooks.redis, group="test", consumer="a", count=1, block_ms=None, keys=KEYS)
    two = events.read_new(hooks.redis, group="test", consumer="b", count=10, block_ms=None, keys=KEYS)
    assert [e.draft_id for _, e in one if e] == [first] and [e.draft_id for _, e in two if e] == [second]
    events.ack(hooks.redis, group="test", stream_ids=[one[0][0]], keys=KEYS)
    # b died holding its entry: a takes it over once it has been idle long enough.
    claimed = events.claim_stale(hooks.redis, group="test", consumer="a", min_idle_ms=0, count=10, keys=KEYS)
    assert [e.draft_id for _, e in claimed if e] == [second]
    assert events.recent_deliveries(hooks.redis, keys=KEYS) == []


class _Later:
    def __init__(self, core: CoreDeps, *, seconds: float) -> None:
        self._core, self._seconds = core, seconds

    def now(self) -> datetime:
        return self._core.clock.now() + timedelta(seconds=self._seconds)
