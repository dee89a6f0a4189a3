"""Chaos for the executor (issue 5): real worker processes killed with SIGKILL, a flaky and slow adsim,
lost answers, a Redis restart. Whatever happens: every approved draft ends applied, one write per change."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.domain.models import TERMINAL_STATUSES, CampaignStatus, Draft, DraftStatus
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.runtime.bootstrap import build_core, redis_keys
from spendgate_core.runtime.settings import load_settings
from spendgate_executor import wiring
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.settings import ExecutorSettings
from tests.integration.executor.harness import Harness, LostEnqueue, ManualClock, RqApplyQueue
from tests.support.executor import ExecutorWiring
from tests.support.processes import RedisServer, stop
from tests.support.stack import ADSIM_READ_TOKEN, US, World, make_world
from tests.support.waiting import eventually

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300, method="thread")]

# Fast recovery for a test run: a dead worker's draft is resumed ~2.5 s after the kill.
CHAOS_ENV = {
    "SPENDGATE_APPLY_LEASE_SECONDS": "2",
    "SPENDGATE_SWEEP_INTERVAL_SECONDS": "0.5",
    "SPENDGATE_RETRY_BASE_SECONDS": "0.1",
    "SPENDGATE_RETRY_MAX_SECONDS": "1",
    "SPENDGATE_RETRY_MAX_ATTEMPTS": "25",
    "SPENDGATE_CIRCUIT_COOLDOWN_SECONDS": "1",
}


@dataclass
class Workers:
    """Worker processes this test starts, kills (by pid, SIGKILL) and stops."""

    env: dict[str, str]
    logs: Path
    alive: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0
    kills: int = 0
    mid_apply: int = 0  # kills of a worker that held a draft's lease

    def start(self) -> None:
        self.started += 1
        log = (self.logs / f"worker-{self.started}.log").open("wb")
        self.alive.append(
            subprocess.Popen(
                [sys.executable, "-m", "spendgate_executor", "--metrics-port", "0"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()

    def holders(self, client: redis.Redis) -> list[subprocess.Popen[bytes]]:
        """Workers holding a draft's lease right now: in the middle of applying it."""
        owners = b" ".join(client.get(k) or b"" for k in client.scan_iter("sg:lease:*"))
        return [p for p in self.alive if f":{p.pid}:".encode() in owners]

    def kill_during_an_apply(self, rng: random.Random, client: redis.Redis) -> None:
        """SIGKILL a worker at a random instant of an apply: before, during or after its write."""
        holders: list[subprocess.Popen[bytes]] = []
        with contextlib.suppress(AssertionError):  # nobody mid-apply within 2 s: kill an idle worker
            holders = eventually(lambda: self.holders(client), timeout=2, interval=0.005)
        time.sleep(rng.uniform(0, 0.15))  # an apply takes ~150 ms at 50 ms per request
        victim = rng.choice(holders or self.alive)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        self.alive.remove(victim)
        self.kills += 1
        self.mid_apply += bool(holders)

    def stop_all(self) -> None:
        for proc in self.alive:
            stop(proc, grace=20)
        self.alive.clear()

    def tail(self) -> str:
        newest = sorted(self.logs.glob("worker-*.log"))[-2:]
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in newest)


def _harness(
    world: World,
    client: redis.Redis,
    adsim: httpx.Client,
    reads: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> Harness:
    clock = ManualClock()
    for name, value in world.env().items():
        monkeypatch.setenv(name, value)

    executor = ExecutorWiring(lambda: wiring.build(load_settings(ExecutorSettings), clock=clock))

    def configure(**env: str) -> ExecutorDeps:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return executor.rewire()

    settings = load_settings(ExecutorSettings)
    core = build_core(
        settings, client=client, reader=AdsimReader(reads), clock=clock, keys=redis_keys(settings)
    )
    return Harness(
        world=world,
        core=core,
        clock=clock,
        redis=client,
        adsim=adsim,
        queue=RqApplyQueue(client),
        principals=PrincipalDirectory(world.principals_file),
        configure=configure,
        executor_wiring=executor,
    )


@pytest.fixture
def chaos(world: World, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    with (
        httpx.Client(base_url=world.adsim_url, timeout=10) as adsim,
        adsim_client(world.adsim_url, ADSIM_READ_TOKEN) as reads,
    ):
        harness = _harness(world, redis_client, adsim, reads, monkeypatch)
        try:
            yield harness
        finally:
            harness.executor_wiring.close()


def _approve_many(harness: Harness, *, changes: int, shifts: int, queue: object = None) -> list[Draft]:
    """`changes` single budget changes and `shifts` two-change shifts, on distinct US campaigns."""
    live = [harness.core.reader.get_campaign(US, f"cmp_us_{n:03d}") for n in range(1, 37)]
    # A shift must take budget from a running campaign; targets and single changes may be paused.
    shift_sources = [c.id for c in live if c.status is CampaignStatus.ENABLED][:shifts]
    rest = iter(c.id for c in live if c.id not in shift_sources)
    drafts = [harness.propose_change(next(rest), delta=100 * (n + 1)) for n in range(changes)]
    drafts += [harness.propose_shift(source, next(rest), amount="5.00") for source in shift_sources]
    return [harness.approve(d, queue=queue) for d in drafts]


def _settle(harness: Harness, drafts: list[Draft], *, timeout: float, workers: Workers) -> list[Draft]:
    def settled() -> list[Draft]:
        now = [harness.get(d.id) for d in drafts]
        done = all(d.status is DraftStatus.APPLIED or d.status in TERMINAL_STATUSES for d in now)
        assert done, dict(Counter(d.status.value for d in now))
        return now

    try:
        return eventually(settled, timeout=timeout, interval=0.1, what="the drafts to settle")
    except AssertionError as exc:
        pytest.fail(f"{exc}\n{workers.tail()}")


def _assert_exactly_once(harness: Harness, drafts: list[Draft]) -> Counter[str]:
    settled = [harness.get(d.id) for d in drafts]
    assert Counter(d.status.value for d in settled) == {"applied": len(drafts)}, [
        (d.id, d.status.value, d.error) for d in settled if d.status is not DraftStatus.APPLIED
    ]
    writes = harness.api_writes()
    per_key = Counter(w["idempotency_key"] for w in writes)
    expected = {f"{d.id}:{i}" for d in drafts for i in range(len(d.changes))}
    assert set(per_key) == expected
    assert max(per_key.values()) == 1, [k for k, n in per_key.items() if n > 1]
    for draft in settled:
        for change in draft.changes:
            assert harness.budget(change.entity_id) == change.after
    return per_key


def _attempts(harness: Harness, drafts: list[Draft]) -> int:
    ids = {d.id for d in drafts}
    entries = harness.core.ledger.latest(account_id="acc_us_001", limit=1000)
    return sum(
        int(e.details.get("attempts", 0) or 0) for e in entries if e.action == "apply" and e.draft_id in ids
    )


def test_workers_killed_at_random_moments_lose_nothing_and_write_once(chaos: Harness, tmp_path: Path) -> None:
    seed = int(os.environ.get("SPENDGATE_CHAOS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    drafts = _approve_many(chaos, changes=14, shifts=6)
    chaos.faults(latency_ms=50)  # every request takes 50 ms: kills land mid-request
    workers = Workers(env={**os.environ, **CHAOS_ENV}, logs=tmp_path)
    started = time.monotonic()
    try:
        workers.start()
        workers.start()
        for _ in range(10):
            workers.kill_during_an_apply(rng, chaos.redis)
            workers.start()
        settled = _settle(chaos, drafts, timeout=90, workers=workers)
    finally:
        workers.stop_all()
    elapsed = time.monotonic() - started

    per_key = _assert_exactly_once(chaos, drafts)
    print(
        f"\nchaos/sigkill seed={seed}: {len(drafts)} drafts, {len(per_key)} changes, "
        f"{workers.kills} SIGKILLs ({workers.mid_apply} mid-apply), {workers.started} worker starts, "
        f"{_attempts(chaos, settled)} attempts for {len(drafts)} applies, "
        f"{sum(per_key.values())} api writes, {elapsed:.1f}s"
    )


def test_a_flaky_platform_that_loses_answers_still_gets_one_write_per_change(
    chaos: Harness, tmp_path: Path
) -> None:
    drafts = _approve_many(chaos, changes=12, shifts=4)
    workers = Workers(env={**os.environ, **CHAOS_ENV}, logs=tmp_path)
    started = time.monotonic()
    try:
        chaos.faults(error_rate=0.25, error_status=503, drop_after_write_rate=0.3, latency_ms=10)
        workers.start()
        workers.start()
        time.sleep(2)
        chaos.faults(error_rate=0.25, error_status=429, drop_after_write_rate=0.3, latency_ms=10)
        time.sleep(2)
        chaos.faults(error_rate=0.2, error_status=502, drop_after_write_rate=0.5)
        settled = _settle(chaos, drafts, timeout=120, workers=workers)
    finally:
        chaos.faults()
        workers.stop_all()
    elapsed = time.monotonic() - started

    per_key = _assert_exactly_once(chaos, drafts)
    attempts = _attempts(chaos, settled)
    print(
        f"\nchaos/flaky: {len(drafts)} drafts, {len(per_key)} changes, {attempts} attempts "
        f"({attempts - len(drafts)} retries) under 25% 503/429/502 and 30-50% lost answers, "
        f"{sum(per_key.values())} api writes, {elapsed:.1f}s"
    )


def test_redis_killed_and_restarted_between_approve_and_apply_loses_no_approval(
    adsim_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    client = redis.Redis.from_url(server.url)
    world = make_world(tmp_path / "world", redis_url=server.url, adsim_url=adsim_url)
    workers = Workers(env={}, logs=tmp_path)
    harness: Harness | None = None
    try:
        with (
            httpx.Client(base_url=adsim_url, timeout=10) as adsim,
            adsim_client(adsim_url, ADSIM_READ_TOKEN) as reads,
        ):
            harness = _harness(world, client, adsim, reads, monkeypatch)
            enqueued = _approve_many(harness, changes=6, shifts=2)
            orphans = _approve_many_lost(harness)  # approved, but the enqueue never happened
            drafts = enqueued + orphans
            time.sleep(1.5)  # appendfsync everysec: what was acknowledged more than a second ago is on disk
            server.kill()
            client.close()
            server.start()
            workers.env = {**os.environ, **CHAOS_ENV}
            started = time.monotonic()
            workers.start()
            settled = _settle(harness, drafts, timeout=60, workers=workers)
            workers.stop_all()
            per_key = _assert_exactly_once(harness, drafts)
            print(
                f"\nchaos/redis-restart: {len(drafts)} approved drafts ({len(orphans)} never enqueued) "
                f"survived a Redis SIGKILL + AOF restart; {len(per_key)} changes, "
                f"{sum(per_key.values())} api writes, "
                f"{_attempts(harness, settled)} attempts, {time.monotonic() - started:.1f}s to apply"
            )
    finally:
        workers.stop_all()
        if harness is not None:
            harness.executor_wiring.close()
        client.close()
        server.stop()


def _approve_many_lost(harness: Harness) -> list[Draft]:
    campaigns = ("cmp_us_020", "cmp_us_021", "cmp_us_022")
    return [harness.approve(harness.propose_change(c, delta=700), queue=LostEnqueue()) for c in campaigns]
