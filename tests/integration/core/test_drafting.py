"""Proposals (`drafting`, on an event loop) against the real Redis and adsim, through the asyncio adapters
the gateway uses: what is stored, ledgered and announced, refusals and their counts, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from spendgate_core.adapters import events
from spendgate_core.adapters.ledger import AsyncLedgerAppender, RedisLedger
from spendgate_core.adapters.platforms.live import LiveAdsimReader
from spendgate_core.adapters.store import AsyncDraftStore, RedisDraftStore
from spendgate_core.contracts.events import Event
from spendgate_core.domain.models import CampaignStatus, Draft, DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import DuplicateDraft, NotFound, PolicyViolation
from spendgate_core.usecases import drafting
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.drafting import DraftIO
from tests.support.stack import ADSIM_READ_TOKEN, KEYS, World

pytestmark = pytest.mark.anyio

ACCOUNT = "acc_us_001"


@pytest.fixture
async def io(world: World, core: CoreDeps) -> AsyncIterator[DraftIO]:
    client = redis.asyncio.Redis.from_url(world.redis_url)
    live = LiveAdsimReader(world.adsim_url, ADSIM_READ_TOKEN)
    assert isinstance(core.store, RedisDraftStore) and isinstance(core.ledger, RedisLedger)
    # Each entry appended at once (the gateway batches them; batching has its own tests).
    yield DraftIO(
        reader=live, store=AsyncDraftStore(client, keys=KEYS), ledger=AsyncLedgerAppender(core.ledger, client)
    )
    await live.aclose()
    await client.aclose()


def refused(rule: str) -> float:
    return REGISTRY.get_sample_value("spendgate_drafts_refused_total", {"rule": rule}) or 0.0


async def test_a_proposal_is_stored_ledgered_and_announced(
    core: CoreDeps, io: DraftIO, people: dict[str, Principal]
) -> None:
    campaign = core.reader.list_campaigns(ACCOUNT)[0]
    draft = await drafting.propose_budget_change(
        deps=core,
        io=io,
        principal=people["agent"],
        account_id=ACCOUNT,
        campaign_id=campaign.id,
        new_daily_budget=Decimal(campaign.daily_budget - 100) / 100,
        reason="trim",
    )
    assert core.store.get(draft.id) == draft
    assert draft.status is DraftStatus.PENDING and draft.changes[0].before == campaign.daily_budget
    entry = core.ledger.latest(limit=1)[0]
    assert (entry.action, entry.draft_id, entry.details["kind"]) == ("draft", draft.id, "budget_change")
    assert core.ledger.verify().ok
    stream = core.store.client.xrange(KEYS.events())  # type: ignore[attr-defined]
    assert [fields[b"draft_id"].decode() for _, fields in stream] == [draft.id]


async def test_refusals_are_counted(core: CoreDeps, io: DraftIO, people: dict[str, Principal]) -> None:
    agent = people["agent"]
    first, second = core.reader.list_campaigns(ACCOUNT)[:2]
    flipped = CampaignStatus.PAUSED if first.status is CampaignStatus.ENABLED else CampaignStatus.ENABLED
    await drafting.propose_status_change(
        deps=core, io=io, principal=agent, account_id=ACCOUNT, campaign_id=first.id, new_status=flipped,
        reason="flip",
    )  # fmt: skip
    before = refused("duplicate_draft")
    with pytest.raises(DuplicateDraft):  # the field lock holds
        await drafting.propose_status_change(
            deps=core, io=io, principal=agent, account_id=ACCOUNT, campaign_id=first.id, new_status=flipped,
            reason="again",
        )  # fmt: skip
    assert refused("duplicate_draft") == before + 1
    with pytest.raises(NotFound, match="query_entities"):
        await drafting.propose_budget_change(
            deps=core, io=io, principal=agent, account_id=ACCOUNT, campaign_id="cmp_nope",
            new_daily_budget="10", reason="x",
        )  # fmt: skip
    with pytest.raises(PolicyViolation) as violation:
        await drafting.propose_budget_change(
            deps=core, io=io, principal=agent, account_id=ACCOUNT, campaign_id=second.id,
            new_daily_budget=Decimal(second.daily_budget * 50) / 100, reason="fifty times",
        )  # fmt: skip
    assert refused(violation.value.rule) >= 1


async def test_the_event_is_written_with_the_draft_once(
    core: CoreDeps, io: DraftIO, people: dict[str, Principal]
) -> None:
    campaign = core.reader.list_campaigns(ACCOUNT)[0]
    draft = await drafting.propose_budget_change(
        deps=core, io=io, principal=people["agent"], account_id=ACCOUNT, campaign_id=campaign.id,
        new_daily_budget=Decimal(campaign.daily_budget + 100) / 100, reason="up",
    )  # fmt: skip
    client = core.store.client  # type: ignore[attr-defined]
    now = core.clock.now()
    assert events.publish(client, type="draft.created", draft=draft, now=now, keys=KEYS) is None  # announced
    [(_, fields)] = client.xrange(KEYS.events())
    assert (fields[b"type"], fields[b"draft_id"].decode()) == (b"draft.created", draft.id)
    without_events = replace(core, events=None)
    second = core.reader.list_campaigns(ACCOUNT)[1]
    await drafting.propose_budget_change(
        deps=without_events, io=io, principal=people["agent"], account_id=ACCOUNT, campaign_id=second.id,
        new_daily_budget=Decimal(second.daily_budget + 100) / 100, reason="up",
    )  # fmt: skip
    assert len(client.xrange(KEYS.events())) == 1  # no sink wired, nothing announced


class SlowStore:
    """The real asyncio store, but its create waits until released: the caller can be cancelled there."""

    def __init__(self, inner: AsyncDraftStore) -> None:
        self._inner = inner
        self.creating = asyncio.Event()
        self.release = asyncio.Event()

    async def create(self, draft: Draft, *, max_pending: int, event: Event | None) -> None:
        self.creating.set()
        await self.release.wait()
        await self._inner.create(draft, max_pending=max_pending, event=event)

    async def envelope_used(self, account_id: str, *, now: datetime) -> int:
        return await self._inner.envelope_used(account_id, now=now)


async def test_a_cancelled_proposal_still_ledgers_and_announces_what_it_stored(
    core: CoreDeps, io: DraftIO, people: dict[str, Principal]
) -> None:
    """A client hanging up mid-call cancels the tool; a draft it stored keeps its ledger entry and event."""
    slow = SlowStore(io.store)
    campaign = core.reader.list_campaigns(ACCOUNT)[0]
    slow_io = replace(io, store=slow)
    proposing = drafting.propose_budget_change(
        deps=core, io=slow_io, principal=people["agent"], account_id=ACCOUNT,
        campaign_id=campaign.id, new_daily_budget=Decimal(campaign.daily_budget - 100) / 100,
        reason="hung up",
    )  # fmt: skip
    call = asyncio.create_task(proposing)
    await asyncio.wait_for(slow.creating.wait(), 5)
    call.cancel()
    slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(
        slow_io.drain(), 5
    )  # the shielded steps finish on their own; shutdown waits for them
    [draft] = core.store.list(accounts=None, status=DraftStatus.PENDING, limit=10)
    entry = core.ledger.latest(limit=1)[0]
    assert (entry.action, entry.draft_id) == ("draft", draft.id)
    stream = core.store.client.xrange(KEYS.events())  # type: ignore[attr-defined]
    assert [fields[b"draft_id"].decode() for _, fields in stream] == [draft.id]
