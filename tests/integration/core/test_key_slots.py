"""Every key the store, the ledger and the event stream write comes from `Keys`: with a hash-tagged
namespace they all land in the namespace's one Redis Cluster slot, so each script and transaction (whose
keys must share a slot there) works on Cluster as on a single Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis
import redis.asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis.crc import key_slot

from spendgate_core.adapters import events
from spendgate_core.adapters.duework import Backoff, DueSet
from spendgate_core.adapters.keys import Keys
from spendgate_core.adapters.ledger import AsyncLedgerAppender, RedisLedger
from spendgate_core.adapters.store import AsyncDraftStore, RedisDraftStore
from spendgate_core.contracts.events import draft_event
from spendgate_core.contracts.ledger import EntryRequest
from spendgate_core.contracts.signing import LedgerSigner
from spendgate_core.domain import lifecycle
from spendgate_core.domain.clock import SystemClock
from spendgate_core.domain.models import DraftStatus
from spendgate_core.errors import ConfigError
from spendgate_core.runtime.bootstrap import redis_keys
from spendgate_core.runtime.settings import RedisSettings, load_settings
from tests.unit.core.factories import T0, budget_draft

KEYS = Keys("{tenant}")


def _written(client: redis.Redis) -> dict[str, int]:
    return {key.decode(): key_slot(key) for key in client.scan_iter(count=1000)}


def test_store_ledger_and_events_write_only_keys_of_the_namespace_slot(redis_client: redis.Redis) -> None:
    store = RedisDraftStore(redis_client, keys=KEYS)
    ledger = RedisLedger(
        redis=redis_client, signer=LedgerSigner(Ed25519PrivateKey.generate()), clock=SystemClock(), keys=KEYS
    )
    sink = events.RedisEvents(redis_client, keys=KEYS)

    # the store: create (announcing), the status change, the envelope reservation, the release
    draft = budget_draft(campaign="cmp_us_001", before=100_000, after=120_000)
    store.create(draft, max_pending=25, event=draft_event("draft.created", draft, now=T0, url=None))
    armed = lifecycle.arm(draft, principal="alice", channel="rest", token="t", now=T0, window_seconds=60)
    store.save(armed, expected_version=draft.version)
    approved = lifecycle.confirm(armed, principal="alice", token="t", now=T0)
    store.save(approved, expected_version=armed.version)
    applying = lifecycle.begin_apply(approved)
    store.reserve_and_save(applying, expected_version=approved.version, envelope_cap=10**9, now=T0)
    store.get(draft.id)
    store.list(accounts=None, status=DraftStatus.APPLYING, limit=10)
    # the ledger: an entry with an account (its index) and one without
    ledger.append(actor="alice", action="arm", account_id=draft.account_id, draft_id=draft.id)
    ledger.append(actor="agent", action="read")
    # the event stream and its readers
    sink.publish("draft.approved", approved, now=T0, url=None)
    events.reconcile(store=store, client=redis_client, now=T0 + timedelta(minutes=1), keys=KEYS)
    events.ensure_group(redis_client, "slots", keys=KEYS)
    events.read_new(redis_client, group="slots", consumer="c", count=10, block_ms=None, keys=KEYS)
    # durable work: a due set's own keys (attempts, once-markers) derive from its base key
    due = DueSet(
        redis_client,
        key=KEYS.deliveries_due(),
        clock=SystemClock(),
        lease_seconds=30,
        backoff=Backoff(base_seconds=1, max_seconds=2),
        max_attempts=3,
    )
    due.add("evt_1 https://example.com/hook", once_for=timedelta(days=1))
    [taken] = due.take()
    due.failed(taken)
    events.record_delivery(redis_client, {"outcome": "delivered"}, keys=KEYS)

    async def on_a_loop() -> None:  # the event-loop adapters write through the same commands
        client = redis.asyncio.Redis(
            **{k: redis_client.connection_pool.connection_kwargs[k] for k in ("host", "port")}
        )
        try:
            other = budget_draft(campaign="cmp_us_002")
            await AsyncDraftStore(client, keys=KEYS).create(other, max_pending=25)
            await AsyncLedgerAppender(ledger, client).record(
                EntryRequest("agent", "read", "acc_us_001", None, {})
            )
        finally:
            await client.aclose()

    asyncio.run(on_a_loop())

    written = _written(redis_client)
    assert len(written) >= 15  # drafts, indexes, locks, envelope, ledger, stream, markers, logs
    assert all(key.startswith("{tenant}:") for key in written), sorted(written)
    assert set(written.values()) == {key_slot(b"{tenant}")}, sorted(written)


def test_the_default_namespace_keeps_the_single_redis_key_names(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPENDGATE_REDIS_NAMESPACE", raising=False)
    keys = redis_keys(load_settings(RedisSettings))
    store = RedisDraftStore(redis_client, keys=keys)
    draft = budget_draft()
    store.create(draft, max_pending=25)
    assert redis_client.exists(f"sg:draft:{draft.id}")
    assert keys.ledger_entries() == "sg:ledger:entries"


@pytest.mark.parametrize("namespace", ["sg", "{sg}", "acme-prod", "{acme}.eu", "a_b.c"])
def test_a_namespace_setting_is_plain_characters_with_at_most_one_hash_tag(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPENDGATE_REDIS_NAMESPACE", namespace)
    assert redis_keys(load_settings(RedisSettings)).draft("d") == f"{namespace}:draft:d"


@pytest.mark.parametrize("namespace", ["", "a:b", "{}", "{a}{b}", "x{y", "a b", "sg*", "n" * 65])
def test_a_namespace_that_would_break_the_key_names_is_refused_in_one_line(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPENDGATE_REDIS_NAMESPACE", namespace)
    with pytest.raises(ConfigError, match=r"SPENDGATE_REDIS_NAMESPACE: .*not a key namespace"):
        load_settings(RedisSettings)
    with pytest.raises(ValueError):
        Keys(namespace)
