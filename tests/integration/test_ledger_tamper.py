"""Every kind of tampering with a busy ledger in Redis is caught by verify(), at the right seq."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendgate_core.adapters.ledger import RedisLedger
from spendgate_core.contracts.ledger import GENESIS_HASH, LedgerCorruptError, LedgerEntry, canonical_json
from spendgate_core.contracts.signing import LedgerSigner
from spendgate_core.domain.clock import SystemClock
from tests.integration.test_ledger_redis import SIGNER, fill_busy, make_ledger
from tests.support.stack import KEYS

ENTRIES, HEAD = "sg:ledger:entries", "sg:ledger:head"
N = 120


@pytest.fixture
def busy(redis_url: str, redis_client: redis.Redis) -> RedisLedger:
    """A fresh ledger of N entries written by 4 threads at once; verified clean before tampering."""
    assert fill_busy(redis_url, threads=4, per_thread=N // 4) == N
    ledger = make_ledger(redis_url)
    assert ledger.verify().model_dump() == {"ok": True, "entries": N, "first_bad": None, "reason": None}
    return ledger


def _doc(client: redis.Redis, seq: int) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(cast(bytes, client.lindex(ENTRIES, seq - 1))))


def _put(client: redis.Redis, seq: int, raw: bytes | str) -> None:
    """Overwrite the entry at seq's position with raw bytes."""
    client.lset(ENTRIES, seq - 1, raw)  # type: ignore[arg-type]  # stubs say str; redis-py sends bytes as is


def _head_for(signer: LedgerSigner, seq: int, hash_: str) -> str:
    sig = signer.sign(canonical_json({"hash": hash_, "seq": seq}).encode())
    return canonical_json({"hash": hash_, "seq": seq, "sig": sig})


def _bad_at(ledger: RedisLedger, first_bad: int, reason_part: str) -> None:
    report = ledger.verify()
    assert (report.ok, report.first_bad) == (False, first_bad), report
    assert reason_part in (report.reason or ""), report


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("ts", "2030-01-01T00:00:00.000000Z", "does not match its hash"),
        ("actor", "mallory", "does not match its hash"),
        ("action", "approve", "does not match its hash"),
        ("account_id", "acc-other", "does not match its hash"),
        ("draft_id", "drf_forged", "does not match its hash"),
        ("details", {"i": -1}, "does not match its hash"),
        ("seq", 999, "holds seq 999"),
        ("prev_hash", GENESIS_HASH, "does not link"),
        ("hash", "f" * 64, "does not match its hash"),
        # A fixed id: the signature differs per process; pytest-xdist workers must collect the same ids.
        pytest.param("sig", SIGNER.sign(b"something else"), "not signed by the ledger key", id="sig"),
    ],
)
def test_edited_field_is_found_at_its_seq(
    busy: RedisLedger, redis_client: redis.Redis, field: str, value: object, reason: str
) -> None:
    k = 57
    doc = _doc(redis_client, k)
    if doc[field] == value:
        value = "x"
    doc[field] = value
    _put(redis_client, k, canonical_json(doc))
    _bad_at(busy, k, reason)


@pytest.mark.parametrize("k", [1, 2, 60, N])
def test_edit_with_recomputed_hash_fails_on_signature(
    busy: RedisLedger, redis_client: redis.Redis, k: int
) -> None:
    entry = LedgerEntry.model_validate(_doc(redis_client, k))
    forged = entry.model_copy(update={"details": {**entry.details, "amount": "1000000.00"}})
    forged = forged.model_copy(update={"hash": forged.computed_hash()})
    _put(redis_client, k, forged.canonical())
    _bad_at(busy, k, f"entry {k} is not signed by the ledger key")


@pytest.mark.parametrize("k", [1, 2, 60, N - 1])
def test_deleted_entry_is_found_at_its_seq(busy: RedisLedger, redis_client: redis.Redis, k: int) -> None:
    _put(redis_client, k, "deleted")
    redis_client.lrem(ENTRIES, 1, "deleted")
    _bad_at(busy, k, f"position {k} holds seq {k + 1}")


def test_deleting_the_last_entry_is_a_truncation(busy: RedisLedger, redis_client: redis.Redis) -> None:
    redis_client.rpop(ENTRIES)
    _bad_at(busy, N, "tail is gone")


@pytest.mark.parametrize("k", [1, 60, N - 1])
def test_swapped_entries_are_found(busy: RedisLedger, redis_client: redis.Redis, k: int) -> None:
    a, b = redis_client.lindex(ENTRIES, k - 1), redis_client.lindex(ENTRIES, k)
    _put(redis_client, k, cast(bytes, b))
    _put(redis_client, k + 1, cast(bytes, a))
    _bad_at(busy, k, f"position {k} holds seq {k + 1}")


def test_duplicated_entry_is_found(busy: RedisLedger, redis_client: redis.Redis) -> None:
    thirtieth = cast(bytes, redis_client.lindex(ENTRIES, 29))
    redis_client.linsert(ENTRIES, "AFTER", thirtieth, thirtieth)  # type: ignore[arg-type]  # bytes are fine
    _bad_at(busy, 31, "position 31 holds seq 30")


@pytest.mark.parametrize("keep", [0, 1, 60, N - 1])
def test_truncated_tail_is_found(busy: RedisLedger, redis_client: redis.Redis, keep: int) -> None:
    if keep:
        redis_client.ltrim(ENTRIES, 0, keep - 1)
    else:
        redis_client.delete(ENTRIES)  # LTRIM 0 -1 would keep everything
    _bad_at(busy, keep + 1, f"vouches for {N} entries but {keep} remain")


@pytest.mark.parametrize("keep", [1, 60, N - 1])
def test_truncation_with_rewritten_checkpoint_is_found(
    busy: RedisLedger, redis_client: redis.Redis, keep: int
) -> None:
    """Without the key the attacker can move the checkpoint but not sign it."""
    redis_client.ltrim(ENTRIES, 0, keep - 1)
    last_hash = _doc(redis_client, keep)["hash"]
    old_sig = json.loads(cast(bytes, redis_client.get(HEAD)))["sig"]
    redis_client.set(HEAD, canonical_json({"hash": last_hash, "seq": keep, "sig": old_sig}))
    _bad_at(busy, keep + 1, "checkpoint is not signed by the ledger key")
    redis_client.set(HEAD, _head_for(LedgerSigner(Ed25519PrivateKey.generate()), keep, last_hash))
    _bad_at(busy, keep + 1, "checkpoint is not signed by the ledger key")
    entry_sig = _doc(redis_client, keep)["sig"]  # an entry's own signature must not pass as a checkpoint's
    redis_client.set(HEAD, canonical_json({"hash": last_hash, "seq": keep, "sig": entry_sig}))
    _bad_at(busy, keep + 1, "checkpoint is not signed by the ledger key")


def test_deleted_checkpoint_is_found(busy: RedisLedger, redis_client: redis.Redis) -> None:
    redis_client.delete(HEAD)
    _bad_at(busy, N + 1, "checkpoint is missing")


def test_whole_chain_rewritten_with_another_key_is_found(
    busy: RedisLedger, redis_client: redis.Redis
) -> None:
    mallory = LedgerSigner(Ed25519PrivateKey.generate())
    prev, forged = GENESIS_HASH, []
    for raw in cast(list[bytes], redis_client.lrange(ENTRIES, 0, -1)):
        entry = LedgerEntry.model_validate_json(raw).model_copy(
            update={"prev_hash": prev, "actor": "mallory"}
        )
        prev = entry.computed_hash()
        forged.append(entry.model_copy(update={"hash": prev, "sig": mallory.sign(prev.encode())}).canonical())
    redis_client.delete(ENTRIES)
    redis_client.rpush(ENTRIES, *forged)
    redis_client.set(HEAD, _head_for(mallory, len(forged), prev))
    # The forgery is internally consistent; only the key gives it away, at the very first entry.
    assert RedisLedger(redis=redis_client, signer=mallory, clock=SystemClock(), keys=KEYS).verify().ok
    _bad_at(busy, 1, "entry 1 is not signed by the ledger key")


def test_wrong_key_types_are_reported_not_raised(busy: RedisLedger, redis_client: redis.Redis) -> None:
    redis_client.delete(ENTRIES)
    redis_client.hset(ENTRIES, "a", "b")
    _bad_at(busy, 1, "storage is unreadable")


def test_garbage_checkpoint_is_reported_and_blocks_appends(
    busy: RedisLedger, redis_client: redis.Redis
) -> None:
    redis_client.set(HEAD, b"\xff\xfe{")
    _bad_at(busy, N + 1, "checkpoint is unreadable")
    with pytest.raises(LedgerCorruptError):
        busy.append(actor="a", action="read")
    redis_client.set(HEAD, b'{"seq": "nope"}')
    with pytest.raises(LedgerCorruptError):
        busy.append(actor="a", action="read")
    assert redis_client.llen(ENTRIES) == N


def test_random_single_byte_tampering_is_always_found(redis_url: str, redis_client: redis.Redis) -> None:
    """Any one byte of any entry changed to any other value: detected at that entry, never an exception."""
    fill_busy(redis_url, threads=4, per_thread=N // 4)
    ledger = make_ledger(redis_url)
    originals = cast(list[bytes], redis_client.lrange(ENTRIES, 0, -1))

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def tamper(data: st.DataObject) -> None:
        k = data.draw(st.integers(1, N), label="seq")
        original = originals[k - 1]
        pos = data.draw(st.integers(0, len(original) - 1), label="byte")
        new = data.draw(st.integers(0, 255).filter(lambda b: b != original[pos]), label="value")
        _put(redis_client, k, original[:pos] + bytes([new]) + original[pos + 1 :])
        try:
            report = ledger.verify()
        finally:
            _put(redis_client, k, original)
        assert (report.ok, report.first_bad) == (False, k), report

    tamper()
    assert ledger.verify().ok


def test_random_checkpoint_tampering_is_always_found(redis_url: str, redis_client: redis.Redis) -> None:
    fill_busy(redis_url, threads=2, per_thread=10)
    ledger = make_ledger(redis_url)
    original = cast(bytes, redis_client.get(HEAD))

    @settings(max_examples=100, deadline=None)
    @given(st.data())
    def tamper(data: st.DataObject) -> None:
        pos = data.draw(st.integers(0, len(original) - 1), label="byte")
        new = data.draw(st.integers(0, 255).filter(lambda b: b != original[pos]), label="value")
        redis_client.set(HEAD, original[:pos] + bytes([new]) + original[pos + 1 :])
        report = ledger.verify()
        assert not report.ok
        assert report.first_bad == 21, report

    tamper()


def test_hiding_an_entry_from_an_account_audit_view_is_detected(redis_client: redis.Redis) -> None:
    """Regression: the per-account index used to be outside verify, so entries could vanish from views."""
    ledger = RedisLedger(redis=redis_client, signer=_review_signer(), clock=SystemClock(), keys=KEYS)
    for n in range(5):
        ledger.append(actor="alice", action="read", account_id="acc_us_001", details={"n": n})
    assert ledger.verify().ok
    redis_client.lrem("sg:ledger:account:acc_us_001", 1, b"2")
    report = ledger.verify()
    assert not report.ok and report.first_bad == 2 and "audit index" in (report.reason or "")
    assert [e.seq for e in ledger.latest(account_id="acc_us_001")] == [5, 4, 3, 1]


def _review_signer() -> LedgerSigner:
    return LedgerSigner(Ed25519PrivateKey.generate())
