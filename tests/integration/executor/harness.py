"""A test harness for the executor: drafts proposed and approved through core's use cases (never the approval
service), applied by an in-process RQ SimpleWorker in burst mode, checked against adsim's writes log."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from spendgate_core.contracts.jobs import APPLY_JOB, APPLY_QUEUE, apply_job_id
from spendgate_core.domain.models import TERMINAL_STATUSES, Draft, DraftStatus
from spendgate_core.domain.money import to_major
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.sweep import Sweeper
from tests.support import drafting
from tests.support.executor import ExecutorWiring
from tests.support.stack import US, World
from tests.support.waiting import eventually

FAST_RETRIES = {
    "SPENDGATE_RETRY_BASE_SECONDS": "0.05",
    "SPENDGATE_RETRY_MAX_SECONDS": "0.2",
    "SPENDGATE_APPLY_LEASE_SECONDS": "2",
}


class ManualClock:
    """The wall clock plus an offset the test moves forward (never backwards)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


class RqApplyQueue:
    """The approval side's queue adapter, as the approval service would write it: RQ by dotted path."""

    def __init__(self, connection: redis.Redis) -> None:
        self.queue = Queue(APPLY_QUEUE, connection=connection, serializer=JSONSerializer)

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        job_id = apply_job_id(draft_id, version)
        with contextlib.suppress(DuplicateJobError):  # the same approval enqueued twice is one job
            self.queue.enqueue(APPLY_JOB, draft_id, version, job_id=job_id, unique=True)


class LostEnqueue:
    """A queue whose enqueue never happens: the approval service crashed right after saving `approved`."""

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        return None


@dataclass
class Harness:
    world: World
    core: CoreDeps
    clock: ManualClock
    redis: redis.Redis
    adsim: httpx.Client
    queue: RqApplyQueue
    principals: PrincipalDirectory
    configure: Callable[..., ExecutorDeps]
    executor_wiring: ExecutorWiring

    @property
    def executor(self) -> ExecutorDeps:
        """The dependencies the in-process worker runs jobs with."""
        return self.executor_wiring.deps

    # people -----------------------------------------------------------------------------------------
    def principal(self, token: str) -> Principal:
        found = self.principals.authenticate(token)
        assert found is not None
        return found

    @property
    def agent(self) -> Principal:
        return self.principal(self.world.tokens.agent)

    @property
    def alice(self) -> Principal:
        return self.principal(self.world.tokens.alice)

    @property
    def bob(self) -> Principal:
        return self.principal(self.world.tokens.bob)

    # drafts -----------------------------------------------------------------------------------------
    def budget(self, campaign: str, account: str = US) -> int:
        return self.core.reader.get_campaign(account, campaign).daily_budget

    def propose_change(self, campaign: str, *, delta: int, account: str = US, currency: str = "USD") -> Draft:
        new = to_major(self.budget(campaign, account) + delta, currency)
        return drafting.propose_budget_change(
            deps=self.core,
            principal=self.agent,
            account_id=account,
            campaign_id=campaign,
            new_daily_budget=new,
            reason="test: more budget",
        )

    def propose_shift(self, source: str, target: str, *, amount: str, account: str = US) -> Draft:
        return drafting.propose_budget_shift(
            deps=self.core,
            principal=self.agent,
            account_id=account,
            from_campaign_id=source,
            to_campaign_id=target,
            amount=Decimal(amount),
            reason="test: shift",
        )

    def approve(self, draft: Draft, *, by: tuple[Principal, ...] | None = None, queue: Any = None) -> Draft:
        current = draft
        for human in by or (self.alice,):
            current = self.core.store.get(draft.id)
            armed = approval.arm(
                deps=self.core,
                principal=human,
                draft_id=draft.id,
                if_match=f'"{current.version}"',
                channel="rest",
            )
            current = approval.confirm(
                deps=self.core,
                principal=human,
                draft_id=draft.id,
                confirm_token=armed.confirm_token,
                channel="rest",
                queue=queue or self.queue,
            )
        assert current.status is DraftStatus.APPROVED, current.status
        return current

    def get(self, draft_id: str) -> Draft:
        return self.core.store.get(draft_id)

    # the worker -------------------------------------------------------------------------------------
    def work(self) -> bool:
        """One burst of spendgate's worker, in process, on the apply queue."""
        return self.executor_wiring.work(self.world.redis_url, APPLY_QUEUE)

    def drive(
        self, draft_id: str, *, until: Callable[[Draft], bool] | None = None, timeout: float = 20
    ) -> Draft:
        """Sweep (due retries, orphans) and work until the draft settles; what a running worker does."""
        done = until or (lambda d: d.status is DraftStatus.APPLIED or d.status in TERMINAL_STATUSES)
        sweeper = Sweeper(self.executor, interval_seconds=1)

        def settled() -> Draft:
            self.work()
            draft = self.get(draft_id)
            if not done(draft):
                sweeper.run_once()
                raise AssertionError(f"{draft_id} is still {draft.status}")
            return draft

        return eventually(settled, timeout=timeout, what=f"{draft_id} to settle")

    # adsim ------------------------------------------------------------------------------------------
    def api_writes(self) -> list[dict[str, Any]]:
        writes = self.adsim.get("/_sim/writes").raise_for_status().json()["writes"]
        return [w for w in writes if w["source"] == "api"]

    def faults(self, **settings: Any) -> None:
        self.adsim.post("/_sim/faults", json=settings).raise_for_status()

    def out_of_band(self, campaign: str, account: str = US, **body: Any) -> None:
        self.adsim.post(f"/_sim/campaigns/{account}/{campaign}", json=body).raise_for_status()
