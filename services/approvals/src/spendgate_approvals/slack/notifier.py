"""The Slack consumer: posts a message for each new draft and keeps it in step with the draft's state.

It reads the draft event stream in the consumer group `slack`, so several approval replicas share the
work and each event is handled by one of them; it acknowledges an event once handled (or its retry is
written) and takes over events a replica that died mid-event left unacknowledged (XAUTOCLAIM).
Events only say "this draft changed": the message is always rendered from the draft as stored now,
under a per-draft lock, so out-of-order or lost events still leave the message showing the truth.

A failed update (Slack down or rate limiting, a busy lock) is acknowledged on the stream and retried
from the shared due set `Keys.slack_retries` (`spendgate_core.adapters.duework.DueSet`): with backoff, by
whichever replica takes it when due, and given up with an error log after `MAX_ATTEMPTS`. A failure
while a retry of the same draft is under way makes that retry due again at once, so a retry that read
the draft before the newer change cannot settle it away.
"""

from __future__ import annotations

import logging

import redis

from spendgate_approvals.slack.client import SlackApi
from spendgate_approvals.slack.messages import Envelope, render
from spendgate_approvals.slack.state import SlackState
from spendgate_core.adapters import events
from spendgate_core.adapters.duework import Backoff, DueSet
from spendgate_core.adapters.keys import Keys
from spendgate_core.domain.clock import Clock
from spendgate_core.domain.models import OPEN_STATUSES, Draft
from spendgate_core.errors import NotFound
from spendgate_core.runtime.periodic import PeriodicTask
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)

GROUP = "slack"
CLAIM_IDLE_MS = 60_000  # an event unacknowledged this long belongs to a replica that died handling it
MAX_ATTEMPTS = 5  # then the update is dropped with an error log: Slack refused it for good (or is away)
BATCH = 20


def slack_retries(client: redis.Redis, *, clock: Clock, keys: Keys) -> DueSet:
    """The due set of Slack updates to try again, shared by every replica."""
    return DueSet(
        client,
        key=keys.slack_retries(),
        clock=clock,
        lease_seconds=60,  # longer than an update's lock wait plus two Slack calls
        backoff=Backoff(base_seconds=5, max_seconds=300),
        max_attempts=MAX_ATTEMPTS,
    )


class SlackNotifier:
    def __init__(
        self,
        *,
        deps: CoreDeps,
        client: redis.Redis,
        keys: Keys,
        api: SlackApi,
        state: SlackState,
        retries: DueSet,
        consumer: str,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self._deps = deps
        self._r = client
        self._keys = keys
        self._api = api
        self._state = state
        self._retries = retries
        self.consumer = consumer
        self._claim_idle_ms = claim_idle_ms
        # No pause between passes: each pass blocks up to half a second on the stream itself.
        self._task = PeriodicTask(
            name="spendgate-slack",
            interval_seconds=0.0,
            error_wait_seconds=1.0,
            first_wait=False,
            step=lambda: self.run_once(block_ms=500),
            on_error=self._recover,
        )

    # the message ------------------------------------------------------------------------------------
    def show(self, draft_id: str, *, post: bool = False) -> None:
        """Bring the draft's message up to date; with `post`, post it first if the draft is still open.

        Raises the Slack client's errors (and `LockBusy`); callers decide whether to retry.
        """
        with self._state.locked(draft_id):
            try:
                draft = self._deps.store.get(draft_id)
            except NotFound:
                return
            known = self._state.message(draft_id)
            if known is None:
                if post and draft.status in OPEN_STATUSES:
                    text, blocks = self._render(draft)
                    ref = self._api.post(text=text, blocks=blocks)
                    self._state.remember_message(draft_id, ref, version=draft.version)
                return
            ref, shown = known
            if shown >= draft.version:
                return  # a twin update already showed this state (or a later one)
            text, blocks = self._render(draft)
            self._api.update(ref, text=text, blocks=blocks)
            self._state.shown_version(draft_id, draft.version)

    def _render(self, draft: Draft) -> tuple[str, list[dict[str, object]]]:
        deps = self._deps
        used = deps.store.envelope_used(draft.account_id, now=deps.clock.now())
        cap = deps.limits(draft.account_id, draft.currency).envelope_24h
        return render(draft, envelope=Envelope(used=used, cap=cap), url=deps.draft_url(draft.id))

    # the consumer -----------------------------------------------------------------------------------
    def run_once(self, *, block_ms: int | None = None) -> int:
        """Handle what is waiting (due retries, stuck events, then new ones); how many items were taken."""
        retried = self.retry_due()
        k = self._keys
        taken = events.claim_stale(
            self._r, group=GROUP, consumer=self.consumer, min_idle_ms=self._claim_idle_ms, count=BATCH, keys=k
        )
        taken += events.read_new(
            self._r, group=GROUP, consumer=self.consumer, count=BATCH, block_ms=block_ms, keys=k
        )
        for stream_id, event in taken:
            if event is not None:
                self._handle_or_retry_later(event)
            events.ack(self._r, group=GROUP, stream_ids=[stream_id], keys=k)
        return retried + len(taken)

    def _handle_or_retry_later(self, event: events.StreamEvent) -> None:
        post = event.type == "draft.created"
        try:
            self.show(event.draft_id, post=post)
        except Exception as exc:
            # One bad event (Slack down, a refused message, a Redis blip) must not stop the others. If
            # even the retry cannot be written, this raises and the event stays pending for XAUTOCLAIM.
            item = _item(event.draft_id, post=post)
            if not self._retries.add(item, attempts_made=1):
                # A retry of this draft is waiting or under way and may have read the draft before this
                # change: make it due now, which also fences an under-way retry out of settling it.
                self._retries.put(item, at=self._deps.clock.now())
            log.warning("Slack update for %s %s failed (1): %s", event.type, event.draft_id, exc)

    def retry_due(self) -> int:
        """Try again the updates whose retry is due; how many were taken."""
        taken = self._retries.take(limit=BATCH)
        for item in taken:
            action, draft_id = item.item.split(" ", 1)
            if item.exhausted:
                log.error("giving up on Slack for %s: a replica stopped during its last attempt", draft_id)
                continue
            try:
                self.show(draft_id, post=action == "post")
            except Exception as exc:
                settled = self._retries.failed(item)
                if settled.outcome == "gave_up":
                    log.error("giving up on Slack for %s after %d attempts: %s", draft_id, item.attempt, exc)
                else:
                    log.warning("Slack update for %s failed (%d): %s", draft_id, item.attempt, exc)
            else:
                self._retries.succeeded(item)
        return len(taken)

    def start(self) -> None:
        events.ensure_group(self._r, GROUP, keys=self._keys)
        self._task.start()

    def stop(self) -> None:
        self._task.stop(timeout=10)

    def _recover(self, exc: Exception) -> None:
        # Redis unreachable, or the group deleted under us: make sure the group is there for the next pass.
        events.ensure_group(self._r, GROUP, keys=self._keys)


def _item(draft_id: str, *, post: bool) -> str:
    return f"{'post' if post else 'show'} {draft_id}"
