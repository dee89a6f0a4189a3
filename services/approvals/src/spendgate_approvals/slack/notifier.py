"""The Slack consumer: posts a message for each new draft and keeps it in step with the draft's state.

It reads the draft event stream in the consumer group `slack`, so several approval replicas share the
work and each event is handled by one of them; it acknowledges an event once handled, takes over
events a dead replica left unacknowledged (XAUTOCLAIM), and gives an event up after a few failures.
Events only say "this draft changed": the message is always rendered from the draft as stored now,
under a per-draft lock, so out-of-order or lost events still leave the message showing the truth.
"""

from __future__ import annotations

import logging
import threading

import redis

from spendgate_approvals.slack.client import SlackApi
from spendgate_approvals.slack.messages import Envelope, render
from spendgate_approvals.slack.state import SlackState
from spendgate_core.adapters import events
from spendgate_core.domain.models import OPEN_STATUSES, Draft
from spendgate_core.errors import NotFound
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)

GROUP = "slack"
CLAIM_IDLE_MS = 60_000  # an event unacknowledged this long belongs to a dead (or failing) consumer
MAX_FAILURES = 5  # then the event is dropped with an error log: Slack refused it for good (or is away)
BATCH = 20


class SlackNotifier:
    def __init__(
        self,
        *,
        deps: CoreDeps,
        client: redis.Redis,
        api: SlackApi,
        state: SlackState,
        consumer: str,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self._deps = deps
        self._r = client
        self._api = api
        self._state = state
        self.consumer = consumer
        self._claim_idle_ms = claim_idle_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
    def handle(self, event: events.StreamEvent) -> None:
        self.show(event.draft_id, post=event.type == "draft.created")

    def run_once(self, *, block_ms: int | None = None) -> int:
        """Handle what is waiting (stuck events first, then new ones); how many events were taken."""
        taken = events.claim_stale(
            self._r, group=GROUP, consumer=self.consumer, min_idle_ms=self._claim_idle_ms, count=BATCH
        )
        taken += events.read_new(self._r, group=GROUP, consumer=self.consumer, count=BATCH, block_ms=block_ms)
        for stream_id, event in taken:
            if event is not None and not self._handled(stream_id, event):
                continue  # left pending: retried after CLAIM_IDLE_MS, by us or another replica
            events.ack(self._r, group=GROUP, stream_ids=[stream_id])
        return len(taken)

    def _handled(self, stream_id: str, event: events.StreamEvent) -> bool:
        """Whether the event is done with (handled, or given up on)."""
        try:
            self.handle(event)
        except Exception as exc:
            # One bad event (Slack down, a refused message, a Redis blip) must not stop the others.
            failures = events.count_failure(self._r, group=GROUP, stream_id=stream_id)
            if failures >= MAX_FAILURES:
                log.error(
                    "giving up on Slack for %s %s after %d failures: %s",
                    event.type,
                    event.draft_id,
                    failures,
                    exc,
                )
                return True
            log.warning("Slack update for %s %s failed (%d): %s", event.type, event.draft_id, failures, exc)
            return False
        return True

    def start(self) -> None:
        events.ensure_group(self._r, GROUP)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="spendgate-slack", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(block_ms=500)
            except Exception:
                # Redis unreachable, or the group deleted under us: keep the thread, retry shortly.
                log.exception("Slack consumer pass failed")
                if self._stop.wait(1.0):
                    return
                try:
                    events.ensure_group(self._r, GROUP)
                except redis.RedisError:
                    continue
