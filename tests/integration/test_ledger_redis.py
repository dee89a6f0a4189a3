"""RedisLedger against a real redis-server: appends, reads, export, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spendgate_core.adapters.keys import Keys
from spendgate_core.adapters.ledger import RedisLedger
from spendgate_core.contracts.ledger import GENESIS_HASH, EntryRequest, LedgerCorruptError, LedgerEntry
from spendgate_core.contracts.signing import LedgerSigner, generate_key_file, load_signing_key
from spendgate_core.domain.clock import SystemClock
from spendgate_core.usecases.ports import Ledger
from tests.support.stack import KEYS

SIGNER = LedgerSigner(Ed25519PrivateKey.generate())


class StepClock:
    """A clock that moves one millisecond per reading, from a fixed start (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = datetime(2025, 3, 1, tzinfo=UTC)

    def now(self) -> datetime:
        with self._lock:
            self._at += timedelta(milliseconds=1)
            return self._at


def make_ledger(url: str, *, signer: LedgerSigner = SIGNER, namespace: str = "sg") -> RedisLedger:
    """A ledger on its own connection, as a separate replica would have."""
    return RedisLedger(
        redis=redis.Redis.from_url(url), signer=signer, clock=SystemClock(), keys=Keys(namespace)
    )


def fill_busy(url: str, *, threads: int = 4, per_thread: int = 30) -> int:
    """Append from several threads at once with mixed accounts, drafts and details; returns the count."""

    def work(worker: int) -> None:
        ledger = make_ledger(url)
        for i in range(per_thread):
            ledger.append(
                actor=f"replica-{worker}",
                action=("read", "draft", "arm", "confirm", "apply")[i % 5],
                account_id=f"acc-{(worker + i) % 3}" if i % 4 else None,
                draft_id=f"drf_{worker:02d}{i:04d}" if i % 5 else None,
                details={
                    "i": i,
                    "worker": worker,
                    "ratio": i / 7,
                    "note": "Grüße 🚀",
                    "nested": {"ok": [True, None]},
                },
            )

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads * per_thread


@pytest.fixture
def ledger(redis_client: redis.Redis) -> Ledger:
    """Typed as the port, so mypy checks that RedisLedger implements it."""
    return RedisLedger(redis=redis_client, signer=SIGNER, clock=StepClock(), keys=KEYS)


def test_append_links_and_signs(ledger: Ledger) -> None:
    first = ledger.append(
        actor="claude", action="read", account_id="acc-1", details={"tool": "list_accounts"}
    )
    second = ledger.append(actor="alice@example.com", action="arm", account_id="acc-1", draft_id="drf_1")
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.computed_hash() == second.hash
    assert SIGNER.public_key().verify(second.hash.encode("ascii"), second.sig)
    assert ledger.latest() == [second, first]
    assert ledger.verify().model_dump() == {"ok": True, "entries": 2, "first_bad": None, "reason": None}


def test_empty_ledger_verifies(ledger: Ledger) -> None:
    assert ledger.verify().model_dump() == {"ok": True, "entries": 0, "first_bad": None, "reason": None}
    assert ledger.latest() == []
    assert list(ledger.export()) == []


@pytest.mark.parametrize(
    ("action", "details"),
    [
        ("approve_everything", None),
        ("read", {"x": float("nan")}),
        ("read", {"x": float("inf")}),
        ("read", {"x": Decimal("1.50")}),
        ("read", {"x": "\ud800"}),
    ],
)
def test_append_refuses_bad_input(ledger: Ledger, action: str, details: dict[str, Any] | None) -> None:
    with pytest.raises(ValueError):
        ledger.append(actor="claude", action=action, details=details)
    assert ledger.verify().entries == 0
    ledger.append(actor="claude", action="read")  # nothing half-written got in the way
    assert ledger.verify().ok


def test_append_many_chains_a_batch_in_order(redis_client: redis.Redis) -> None:
    ledger = RedisLedger(redis=redis_client, signer=SIGNER, clock=StepClock(), keys=KEYS)
    ledger.append(actor="claude", action="read")
    batch = ledger.append_many(
        [
            EntryRequest("claude", "read", "acc-1", None, {"tool": "get_account_snapshot"}),
            EntryRequest("claude", "read", None, None, {"tool": "list_accounts"}),
            EntryRequest("cursor", "draft", "acc-2", "drf_1", {"kind": "budget_change"}),
            EntryRequest("claude", "read", "acc-1", None, {"tool": "query_entities"}),
        ]
    )
    assert [e.seq for e in batch] == [2, 3, 4, 5]
    assert [e.prev_hash for e in batch[1:]] == [e.hash for e in batch[:-1]]
    assert ledger.latest(limit=4) == list(reversed(batch))
    assert [e.seq for e in ledger.latest(account_id="acc-1")] == [5, 2]
    assert [e.seq for e in ledger.latest(account_id="acc-2")] == [4]
    assert ledger.verify().model_dump() == {"ok": True, "entries": 5, "first_bad": None, "reason": None}


def test_a_batch_is_stored_whole_or_not_at_all(redis_client: redis.Redis) -> None:
    ledger = RedisLedger(redis=redis_client, signer=SIGNER, clock=StepClock(), keys=KEYS)
    with pytest.raises(ValueError, match="not representable"):
        ledger.append_many(
            [
                EntryRequest("claude", "read", "acc-1", None, {"n": 1}),
                EntryRequest("claude", "read", "acc-1", None, {"n": float("nan")}),
            ]
        )
    with pytest.raises(ValueError, match="unknown ledger action"):
        ledger.append_many([EntryRequest("claude", "read"), EntryRequest("claude", "approve_everything")])
    assert ledger.verify().entries == 0
    assert len(ledger.append_many([EntryRequest("claude", "read", "acc-1")] * 450)) == 450  # three groups
    assert ledger.verify().model_dump() == {"ok": True, "entries": 450, "first_bad": None, "reason": None}
    assert len(ledger.latest(account_id="acc-1", limit=1000)) == 450


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    details=st.dictionaries(st.text(max_size=8), _JSON, max_size=5), actor=st.text(min_size=1, max_size=30)
)
def test_stored_text_is_the_canonical_form_of_what_verify_parses(
    redis_client: redis.Redis, details: dict[str, Any], actor: str
) -> None:
    """Entries are built as plain JSON for speed; verify parses them into the model and re-serialises."""
    ledger = RedisLedger(redis=redis_client, signer=SIGNER, clock=StepClock(), keys=Keys("prop"))
    entry = ledger.append(actor=actor, action="read", account_id="acc-1", details=details)
    stored = cast(bytes, redis_client.lindex("prop:ledger:entries", entry.seq - 1)).decode("utf-8")
    assert LedgerEntry.model_validate_json(stored).canonical() == stored
    assert LedgerEntry.model_validate_json(stored) == entry


def test_naive_clock_is_refused(redis_client: redis.Redis) -> None:
    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2025, 1, 1)  # naive: the mistake under test

    with pytest.raises(ValueError):
        RedisLedger(redis=redis_client, signer=SIGNER, clock=NaiveClock(), keys=KEYS).append(
            actor="a", action="read"
        )


def test_client_must_return_bytes(redis_url: str) -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        RedisLedger(
            redis=redis.Redis.from_url(redis_url, decode_responses=True),
            signer=SIGNER,
            clock=SystemClock(),
            keys=KEYS,
        )


def test_latest_for_an_account(ledger: Ledger) -> None:
    for i in range(30):
        ledger.append(
            actor="claude", action="read", account_id=("acc-a", "acc-b", None)[i % 3], details={"i": i}
        )
    only_a = ledger.latest(account_id="acc-a", limit=4)
    assert [e.details["i"] for e in only_a] == [27, 24, 21, 18]
    assert all(e.account_id == "acc-a" for e in only_a)
    assert [e.seq for e in ledger.latest(account_id="acc-b", limit=100)] == list(range(29, 0, -3))
    assert ledger.latest(account_id="acc-unknown") == []
    assert [e.seq for e in ledger.latest(limit=3)] == [30, 29, 28]
    assert len(ledger.latest(limit=0)) == 1  # clamped up to 1
    assert len(ledger.latest(limit=-5, account_id="acc-a")) == 1
    assert len(ledger.latest(limit=10**9)) == 30  # clamped down to 1000


def test_latest_limit_is_capped_at_1000(ledger: Ledger) -> None:
    for _ in range(1001):
        ledger.append(actor="claude", action="read", account_id="acc-a")
    assert len(ledger.latest(limit=5000)) == 1000
    assert ledger.latest(account_id="acc-a", limit=5000)[-1].seq == 2


def test_export_streams_everything_in_order(ledger: Ledger, redis_client: redis.Redis) -> None:
    for i in range(1234):  # crosses several export batches
        ledger.append(actor="claude", action="read", account_id=f"acc-{i % 7}", details={"i": i})
    exported = list(ledger.export())
    assert [e.seq for e in exported] == list(range(1, 1235))
    stored = cast(list[bytes], redis_client.lrange("sg:ledger:entries", 0, -1))
    assert [e.canonical().encode() for e in exported] == stored
    assert ledger.verify().entries == 1234


def test_namespaces_are_separate(redis_url: str) -> None:
    blue, green = make_ledger(redis_url, namespace="blue"), make_ledger(redis_url, namespace="green")
    blue.append(actor="a", action="read")
    green.append(actor="b", action="read")
    green.append(actor="b", action="read")
    assert (blue.verify().entries, green.verify().entries) == (1, 2)


def test_interleaved_instances_keep_one_chain(redis_url: str) -> None:
    """Each instance's head hint goes stale as the other writes; the chain must not fork."""
    one, two = make_ledger(redis_url), make_ledger(redis_url)
    seqs = [(one if i % 2 else two).append(actor="x", action="read").seq for i in range(20)]
    assert seqs == list(range(1, 21))
    assert one.verify().ok


def test_eight_threads_append_one_linear_chain(redis_url: str) -> None:
    seen: list[int] = []
    lock = threading.Lock()
    shared = make_ledger(redis_url)  # half the threads share one instance, half have their own

    def work(worker: int) -> None:
        ledger = shared if worker % 2 else make_ledger(redis_url)
        for i in range(50):
            entry = ledger.append(
                actor=f"t{worker}", action="read", account_id=f"acc-{worker % 3}", details={"i": i}
            )
            with lock:
                seen.append(entry.seq)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 401))
    report = shared.verify()
    assert (report.ok, report.entries) == (True, 400), report
    assert [e.seq for e in shared.export()] == list(range(1, 401))
    per_account = [len(shared.latest(account_id=f"acc-{a}", limit=1000)) for a in range(3)]
    assert per_account == [150, 150, 100]


def _append_in_child(url: str, key_file: str, worker: int, count: int, start: Any) -> None:
    """Runs in a spawned process: its own interpreter, key load and Redis connection."""
    ledger = RedisLedger(
        redis=redis.Redis.from_url(url),
        signer=load_signing_key(Path(key_file)),
        clock=SystemClock(),
        keys=KEYS,
    )
    start.wait(timeout=30)
    for i in range(count):
        ledger.append(actor=f"proc-{worker}", action="read", account_id=f"acc-{worker}", details={"i": i})


def test_four_processes_append_one_linear_chain(redis_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "ledger.pem"
    generate_key_file(key_file)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_append_in_child, args=(redis_url, str(key_file), w, 100, start)) for w in range(4)
    ]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=90)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    ledger = RedisLedger(
        redis=redis.Redis.from_url(redis_url),
        signer=load_signing_key(key_file),
        clock=SystemClock(),
        keys=KEYS,
    )
    report = ledger.verify()
    assert (report.ok, report.entries) == (True, 400), report
    assert [len(ledger.latest(account_id=f"acc-{w}", limit=1000)) for w in range(4)] == [100] * 4


def test_verify_is_consistent_while_others_append(redis_url: str) -> None:
    stop = threading.Event()
    writer = make_ledger(redis_url)

    def keep_appending() -> None:
        while not stop.is_set():
            writer.append(actor="busy", action="read", account_id="acc-1")

    fill_busy(redis_url, threads=2, per_thread=300)  # more than one verify batch
    thread = threading.Thread(target=keep_appending)
    thread.start()
    try:
        reports = [make_ledger(redis_url).verify() for _ in range(5)]
    finally:
        stop.set()
        thread.join()
    assert all(r.ok for r in reports), reports


def test_append_refuses_to_extend_a_truncated_ledger(ledger: Ledger, redis_client: redis.Redis) -> None:
    for _ in range(5):
        ledger.append(actor="a", action="read")
    redis_client.ltrim("sg:ledger:entries", 0, 2)
    with pytest.raises(LedgerCorruptError, match="refusing to extend"):
        ledger.append(actor="a", action="read")
    assert redis_client.llen("sg:ledger:entries") == 3


def test_reads_fail_loudly_on_corrupt_storage(ledger: Ledger, redis_client: redis.Redis) -> None:
    for _ in range(3):
        ledger.append(actor="a", action="read", account_id="acc-1")
    redis_client.lset("sg:ledger:entries", 1, b"\xff not json")  # type: ignore[arg-type]  # stubs say str
    with pytest.raises(LedgerCorruptError):
        ledger.latest()
    with pytest.raises(LedgerCorruptError):
        ledger.latest(account_id="acc-1")
    with pytest.raises(LedgerCorruptError):
        list(ledger.export())


def _rate(url: str, threads: int, per_thread: int) -> float:
    ledgers = [make_ledger(url) for _ in range(threads)]
    ledgers[0].append(actor="warmup", action="read")  # loads the script, opens a connection

    def work(ledger: RedisLedger) -> None:
        for i in range(per_thread):
            ledger.append(
                actor="bench", action="read", account_id="acc-1", details={"tool": "get_draft", "i": i}
            )

    pool = [threading.Thread(target=work, args=(ledger,)) for ledger in ledgers]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads * per_thread / (time.perf_counter() - began)


def test_append_throughput_is_reported(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints a rough figure for the hot path; asserts nothing about speed."""
    one = _rate(redis_url, 1, 1000)
    redis.Redis.from_url(redis_url).flushdb()
    four = _rate(redis_url, 4, 250)
    with capsys.disabled():
        print(f"\nledger append throughput: 1 thread {one:,.0f}/s, 4 threads {four:,.0f}/s")
    assert make_ledger(redis_url).verify().ok
