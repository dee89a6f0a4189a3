"""The Redis draft store under concurrency: compare-and-set, field locks, flood limit, envelope."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis

from spendgate_core.adapters.store import RedisDraftStore
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftStatus
from spendgate_core.errors import DuplicateDraft, PolicyViolation, VersionConflict
from tests.support.stack import KEYS
from tests.unit.core.factories import T0, budget_draft


@pytest.fixture
def store(redis_client: redis.Redis) -> RedisDraftStore:
    return RedisDraftStore(redis_client, keys=KEYS)


def test_create_get_list(store: RedisDraftStore) -> None:
    first = budget_draft(campaign="cmp_us_001")
    second = budget_draft(campaign="cmp_us_002", at=T0 + timedelta(seconds=1))
    other = budget_draft(campaign="cmp_eu_001", account="acc_eu_002")
    for draft in (first, second, other):
        store.create(draft, max_pending=25)
    assert store.get(first.id) == first
    assert [d.id for d in store.list(accounts=frozenset({"acc_us_001"}), status=None, limit=10)] == [
        second.id,
        first.id,
    ]
    assert len(store.list(accounts=None, status=DraftStatus.PENDING, limit=10)) == 3
    assert store.list(accounts=frozenset(), status=None, limit=10) == []
    assert store.open_count("acc_us_001") == 2


def test_one_open_draft_per_field_until_decided(store: RedisDraftStore) -> None:
    first = budget_draft()
    store.create(first, max_pending=25)
    with pytest.raises(DuplicateDraft, match=first.id):
        store.create(budget_draft(), max_pending=25)
    rejected = lifecycle.reject(first, principal="alice", reason="no", now=T0)
    store.save(rejected, expected_version=first.version)
    store.create(budget_draft(), max_pending=25)  # the lock was released with the decision


def test_approved_drafts_keep_their_lock_until_applied(store: RedisDraftStore) -> None:
    draft = budget_draft()
    store.create(draft, max_pending=25)
    armed = lifecycle.arm(draft, principal="alice", channel="rest", token="t", now=T0, window_seconds=60)
    store.save(armed, expected_version=draft.version)
    approved = lifecycle.confirm(armed, principal="alice", token="t", now=T0)
    store.save(approved, expected_version=armed.version)
    with pytest.raises(DuplicateDraft):
        store.create(budget_draft(), max_pending=25)


def test_flood_limit_names_the_rule(store: RedisDraftStore) -> None:
    for i in range(3):
        store.create(budget_draft(campaign=f"cmp_us_{i:03}"), max_pending=3)
    with pytest.raises(PolicyViolation, match="max_pending_drafts"):
        store.create(budget_draft(campaign="cmp_us_099"), max_pending=3)


def test_concurrent_writers_exactly_one_wins(store: RedisDraftStore) -> None:
    draft = budget_draft()
    store.create(draft, max_pending=25)
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def write(n: int) -> None:
        changed = lifecycle.reject(draft, principal=f"human-{n}", reason=str(n), now=T0)
        barrier.wait()
        try:
            store.save(changed, expected_version=draft.version)
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert outcomes.count("won") == 1 and outcomes.count("lost") == 15
    assert store.get(draft.id).version == draft.version + 1


def test_envelope_reservations_cannot_overbook(store: RedisDraftStore) -> None:
    """Eight concurrent 300.00 increases against a 2000.00 envelope: at most six get through."""
    drafts = []
    for i in range(8):
        draft = budget_draft(campaign=f"cmp_us_{i:03}", before=100_000, after=130_000)
        draft = replace_status(draft, DraftStatus.APPROVED)
        store.create(draft, max_pending=25)
        drafts.append(draft)
    results: list[bool] = []
    barrier = threading.Barrier(len(drafts))

    def reserve(draft) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            store.reserve_and_save(
                lifecycle.begin_apply(draft), expected_version=draft.version, envelope_cap=200_000, now=T0
            )
            results.append(True)
        except PolicyViolation:
            results.append(False)

    threads = [threading.Thread(target=reserve, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count(True) == 6
    assert store.envelope_used("acc_us_001", now=T0) == 180_000
    assert store.envelope_used("acc_us_001", now=T0 + timedelta(hours=25)) == 0


def test_a_stale_apply_gives_its_reservation_back(store: RedisDraftStore) -> None:
    draft = replace_status(budget_draft(before=100_000, after=130_000), DraftStatus.APPROVED)
    store.create(draft, max_pending=25)
    applying = lifecycle.begin_apply(draft)
    store.reserve_and_save(applying, expected_version=draft.version, envelope_cap=200_000, now=T0)
    assert store.envelope_used("acc_us_001", now=T0) == 30_000
    store.save(lifecycle.mark_stale(applying, now=T0, error="moved"), expected_version=applying.version)
    assert store.envelope_used("acc_us_001", now=T0) == 0


def replace_status(draft, status):  # type: ignore[no-untyped-def]
    return draft.model_copy(update={"status": status})


def test_an_applied_increase_counts_for_24h_from_its_write_however_late(store: RedisDraftStore) -> None:
    """Regression: re-saving an applying draft used to re-time its envelope entry to approved_at."""
    approved_long_ago = replace_status(budget_draft(before=100_000, after=130_000), DraftStatus.APPROVED)
    approved_long_ago = approved_long_ago.model_copy(update={"approved_at": T0 - timedelta(hours=30)})
    store.create(approved_long_ago, max_pending=25)
    applying = lifecycle.begin_apply(approved_long_ago)
    store.reserve_and_save(applying, expected_version=approved_long_ago.version, envelope_cap=200_000, now=T0)
    progressed = lifecycle.record_progress(applying, applied_changes=(0,))
    store.save(progressed, expected_version=applying.version)
    applied = lifecycle.mark_applied(progressed, now=T0, applied_changes=(0,))
    store.save(applied, expected_version=progressed.version)
    assert store.envelope_used("acc_us_001", now=T0 + timedelta(hours=23)) == 30_000
    assert store.envelope_used("acc_us_001", now=T0 + timedelta(hours=25)) == 0


def test_due_drafts_are_found_however_many_newer_ones_exist(store: RedisDraftStore) -> None:
    old = budget_draft(campaign="cmp_us_900", at=T0 - timedelta(hours=49))
    store.create(old, max_pending=10_000)
    for i in range(300):
        store.create(budget_draft(campaign=f"cmp_eu_{i:03}", account="acc_eu_002"), max_pending=10_000)
    assert store.ids_due_to_expire(now=T0) == [old.id]
    store.save(lifecycle.expire(old, now=T0), expected_version=old.version)
    assert store.ids_due_to_expire(now=T0) == []


@pytest.mark.anyio
async def test_account_counters_agree_with_the_store_and_share_concurrent_reads(
    store: RedisDraftStore, redis_url: str
) -> None:
    import asyncio

    import redis.asyncio

    from spendgate_core.adapters.store import AsyncDraftStore

    for i in range(3):
        draft = budget_draft(campaign=f"cmp_us_{i:03}", before=100_000, after=130_000)
        store.create(draft, max_pending=25)
    applying = replace_status(
        budget_draft(campaign="cmp_us_009", before=100_000, after=150_000), DraftStatus.APPROVED
    )
    store.create(applying, max_pending=25)
    store.reserve_and_save(
        lifecycle.begin_apply(applying), expected_version=applying.version, envelope_cap=200_000, now=T0
    )
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        counters = AsyncDraftStore(client, keys=KEYS)
        expected = (store.envelope_used("acc_us_001", now=T0), store.open_count("acc_us_001"))
        assert expected == (50_000, 3)
        assert await counters.account_counters("acc_us_001", now=T0) == expected
        assert await counters.account_counters("acc_us_001", now=T0 + timedelta(hours=25)) == (0, 3)
        assert await counters.account_counters("acc_nobody", now=T0) == (0, 0)
        before = (await client.info("commandstats")).get("cmdstat_scard", {}).get("calls", 0)
        answers = await asyncio.gather(*(counters.account_counters("acc_us_001", now=T0) for _ in range(20)))
        after = (await client.info("commandstats")).get("cmdstat_scard", {}).get("calls", 0)
        assert answers == [expected] * 20
        assert after - before == 1  # twenty concurrent snapshots, one round trip
    finally:
        await client.aclose()


def test_a_save_touches_only_its_own_reservation_among_many(
    store: RedisDraftStore, redis_client: redis.Redis
) -> None:
    """The member a draft holds is looked up directly (not by scanning the account's reservations), and
    the others stay as they were."""
    others = []
    for i in range(40):
        other = replace_status(
            budget_draft(before=100_000, after=100_100, campaign=f"cmp_other_{i:02d}"), DraftStatus.APPROVED
        )
        store.create(other, max_pending=100)
        store.reserve_and_save(lifecycle.begin_apply(other), expected_version=1, envelope_cap=10**9, now=T0)
        others.append(other)
    mine = replace_status(budget_draft(before=100_000, after=130_000), DraftStatus.APPROVED)
    store.create(mine, max_pending=100)
    applying = lifecycle.begin_apply(mine)
    store.reserve_and_save(applying, expected_version=1, envelope_cap=10**9, now=T0 + timedelta(minutes=5))
    assert store.envelope_used("acc_us_001", now=T0 + timedelta(minutes=5)) == 40 * 100 + 30_000
    held = redis_client.get(f"sg:envelope:held:{mine.id}")
    assert held == f"{mine.id}:30000".encode()
    assert 0 < redis_client.pttl(f"sg:envelope:held:{mine.id}") <= 25 * 3_600_000

    store.save(lifecycle.mark_stale(applying, now=T0, error="moved"), expected_version=applying.version)
    assert store.envelope_used("acc_us_001", now=T0 + timedelta(minutes=5)) == 40 * 100
    assert redis_client.get(f"sg:envelope:held:{mine.id}") == b""  # holds nothing now
    assert redis_client.zscore("sg:envelope:acc_us_001", f"{others[0].id}:100") is not None


def test_a_reservation_made_before_held_keys_existed_is_still_given_back(
    store: RedisDraftStore, redis_client: redis.Redis
) -> None:
    """An upgrade with applies in flight: their reservations have no held key yet."""
    draft = replace_status(budget_draft(before=100_000, after=130_000), DraftStatus.APPROVED)
    store.create(draft, max_pending=25)
    applying = lifecycle.begin_apply(draft)
    store.reserve_and_save(applying, expected_version=draft.version, envelope_cap=200_000, now=T0)
    redis_client.delete(f"sg:envelope:held:{draft.id}")  # as the previous version left it
    store.save(lifecycle.mark_stale(applying, now=T0, error="moved"), expected_version=applying.version)
    assert store.envelope_used("acc_us_001", now=T0) == 0
