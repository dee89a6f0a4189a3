"""Applying one approved draft to the ad platform exactly once (README, "Reliability").

One call is one attempt under the draft's lease:

1. reload the draft; anything but `approved`/`applying` is a no-op (the job is idempotent);
2. on the first attempt re-check expiry and policy, then move to `applying` while reserving the 24h
   envelope in the same transaction;
3. per change, in order, skipping those already recorded as applied: read the live value;
   `after` already → applied (a lost answer or a crash after the write); not `before` → stale (or, when
   an earlier change of the draft was written, `apply_failed` naming what was applied, so a rollback can
   undo it); else write with `If-Match` = the live ETag and `Idempotency-Key` = `{draft_id}:{index}`,
   record the index as soon as the platform acknowledges, then read back (a mismatch is reported in
   the ledger, never turned into a failure: the acknowledged write happened);
4. mark `applied` (and a rolled-back original `rolled_back`), ledger and count the outcome.

Crash safety: every step is re-entrant. A worker killed at any instant leaves either nothing, a draft
in `applying` with the changes written so far recorded, or a write the platform made but we did not
record — which the next attempt finds as "live == after" (or the platform replays, same key).
Transient upstream errors schedule a retry with backoff (`retries`) until the attempt budget is spent.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from enum import StrEnum

import redis
from pydantic import JsonValue

from spendgate_core.contracts.events import EventType
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import (
    IN_FLIGHT_STATUSES,
    CampaignStatus,
    Change,
    ChangeField,
    Draft,
    DraftStatus,
)
from spendgate_core.domain.money import format_money
from spendgate_core.domain.platform import Campaign
from spendgate_core.domain.policy import check_changes
from spendgate_core.errors import (
    NotFound,
    PermanentUpstreamError,
    PolicyViolation,
    PreconditionFailed,
    TransientUpstreamError,
    UpstreamError,
    VersionConflict,
)
from spendgate_core.logs import bound
from spendgate_core.metrics import APPLIES
from spendgate_core.usecases.commit import commit
from spendgate_executor.deps import ACTOR, ExecutorDeps
from spendgate_executor.leases import Lease, LeaseLost

log = logging.getLogger(__name__)

# How often one change may be re-read and re-decided in one attempt (a 412, or a read-back that
# disagrees) before the attempt gives the platform a rest and retries later.
_REDECIDE_LIMIT = 3


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    FAILED = "apply_failed"
    RETRY = "retry_scheduled"  # a transient upstream error; the sweep re-enqueues when it is due
    DEFERRED = "deferred"  # waiting for a scheduled retry or an open circuit; nothing was tried
    BUSY = "busy"  # another worker holds the lease (or took over): it finishes the draft
    NOOP = "noop"  # nothing to do: the draft is decided, done, or gone


_EVENT_OF: dict[DraftStatus, EventType] = {
    DraftStatus.APPLIED: "draft.applied",
    DraftStatus.STALE: "draft.stale",
    DraftStatus.APPLY_FAILED: "draft.apply_failed",
}


class _Stale(Exception):
    """The live value is neither `before` nor `after`: someone changed it since the draft."""


def apply_draft(deps: ExecutorDeps, draft_id: str) -> Outcome:
    """Run one attempt at applying `draft_id`; safe to call any number of times, from any worker."""
    lease = deps.leases.acquire(draft_id)
    if lease is None:
        log.info("%s is being applied by another worker", draft_id)
        return Outcome.BUSY
    with lease:
        try:
            return _Attempt(deps, lease, draft_id).run()
        except (LeaseLost, VersionConflict) as exc:
            log.warning("%s: another worker took over (%s)", draft_id, exc)
            return Outcome.BUSY
        except Exception as exc:
            # Not ours to handle (a bug, Redis gone): RQ records the job failed and the sweep retries the
            # draft against its budget; keep the reason so the eventual apply_failed can name it.
            with contextlib.suppress(redis.RedisError):
                deps.retries.note_error(draft_id, f"{type(exc).__name__}: {exc}")
            raise


def _live_value(campaign: Campaign, change: Change) -> int | str:
    if change.field is ChangeField.DAILY_BUDGET:
        return campaign.daily_budget
    return campaign.status.value


class _Attempt:
    def __init__(self, deps: ExecutorDeps, lease: Lease, draft_id: str) -> None:
        self.deps = deps
        self.lease = lease
        self.draft_id = draft_id
        self.draft: Draft | None = None
        self.attempt = 0
        self.platform_answered = False  # evidence for the circuit breaker that the platform is up
        self.read_back_mismatches: dict[str, JsonValue] = {}

    @property
    def current(self) -> Draft:
        assert self.draft is not None
        return self.draft

    def run(self) -> Outcome:
        deps = self.deps
        try:
            self.draft = deps.core.store.get(self.draft_id)
        except NotFound:
            log.warning("%s no longer exists; nothing to apply", self.draft_id)
            return Outcome.NOOP
        # Every log line of this apply carries the request id of the tool call that proposed the draft.
        with bound(request_id=self.current.request_id, draft_id=self.draft_id):
            return self._run_loaded()

    def _run_loaded(self) -> Outcome:
        deps, draft = self.deps, self.current
        if draft.status not in IN_FLIGHT_STATUSES:
            return Outcome.NOOP
        now = deps.core.clock.now()
        if deps.retries.waiting(draft.id, now=now):
            return Outcome.DEFERRED  # a duplicate job ran early; the scheduled retry will run it
        if not deps.breaker.allow(draft.account_id, now=now):
            deps.retries.schedule(draft.id, at=deps.breaker.paused_until(draft.account_id, now=now))
            log.info("%s waits: the circuit for %s is open", draft.id, draft.account_id)
            return Outcome.DEFERRED
        self.attempt = deps.retries.count_attempt(draft.id)
        if self.attempt > deps.max_attempts:  # earlier attempts died without an answer (crashes, bugs)
            last = deps.retries.last_error(draft.id) or "the worker stopped mid-attempt"
            return self._fail(f"gave up after {deps.max_attempts} attempts; last error: {last}")
        try:
            outcome = self._begin() if draft.status is DraftStatus.APPROVED else None
            outcome = outcome or self._apply_changes()
        except TransientUpstreamError as exc:
            deps.breaker.record_failure(draft.account_id, now=deps.core.clock.now())
            return self._retry_or_give_up(exc)
        except (PermanentUpstreamError, NotFound) as exc:
            deps.breaker.record_success(draft.account_id)  # a refusal is an answer: the platform is up
            return self._fail(exc.message)
        if self.platform_answered:
            deps.breaker.record_success(draft.account_id)
        return outcome

    # steps ------------------------------------------------------------------------------------------
    def _begin(self) -> Outcome | None:
        """First attempt: re-check expiry and policy, then take the draft into `applying`."""
        deps, draft = self.deps, self.current
        now = deps.core.clock.now()
        if now >= draft.expires_at:
            return self._fail(
                f"draft_ttl_hours: the draft expired at {draft.expires_at.isoformat()} "
                "before it could be applied"
            )
        limits = deps.core.limits(draft.account_id, draft.currency)
        try:
            check_changes(draft, limits=limits)
            self.lease.check()
            self.draft = deps.core.store.reserve_and_save(
                lifecycle.begin_apply(draft),
                expected_version=draft.version,
                envelope_cap=limits.envelope_24h,
                now=now,
            )
        except PolicyViolation as exc:
            return self._fail(exc.message)
        return None

    def _apply_changes(self) -> Outcome:
        applied = list(self.current.applied_changes)
        for index, change in enumerate(self.current.changes):
            if index in applied:
                continue
            try:
                written = self._apply_change(index, change)
            except _Stale as exc:
                if not applied:
                    return self._stale(str(exc))
                done = ", ".join(str(i) for i in applied)
                return self._fail(
                    f"{exc}; change(s) {done} of this draft were already applied: "
                    "request a rollback to undo them"
                )
            applied.append(index)
            if index < len(self.current.changes) - 1:
                # Progress matters only while more changes follow: after the last one, _finish records
                # it, and a crash in between is caught by "live already equals after" on the retry.
                self._save(lifecycle.record_progress(self.current, applied_changes=tuple(applied)))
            if written:
                self._read_back(index, change)
        return self._finish(tuple(applied))

    def _apply_change(self, index: int, change: Change) -> bool:
        """Make change `index` live (True if this call wrote it), or raise _Stale."""
        deps, draft = self.deps, self.current
        for _ in range(_REDECIDE_LIMIT):
            live = deps.core.reader.get_campaign(draft.account_id, change.entity_id)
            self.platform_answered = True
            value = _live_value(live, change)
            if value == change.after:
                return False  # written by an earlier attempt whose answer we lost, or by someone else
            if value != change.before:
                raise _Stale(
                    f"{change.entity_id} {change.field.value} is {self._show(value)} live, not "
                    f"{self._show(change.before)} as drafted; nothing more was written"
                )
            if change.budget_basis is not None and live.daily_budget != change.budget_basis:
                # Enabling at a budget other than the one the approvers weighed is a different change.
                raise _Stale(
                    f"{change.entity_id} has a daily budget of {self._show(live.daily_budget)} live, not "
                    f"{self._show(change.budget_basis)} as when this status change was drafted; "
                    "nothing more was written"
                )
            self.lease.ensure()
            try:
                deps.writer.update_campaign(
                    draft.account_id,
                    change.entity_id,
                    daily_budget=int(change.after) if change.field is ChangeField.DAILY_BUDGET else None,
                    status=CampaignStatus(str(change.after)) if change.field is ChangeField.STATUS else None,
                    if_match=live.etag,
                    idempotency_key=f"{draft.id}:{index}",
                )
            except PreconditionFailed:
                continue  # it moved between our read and our write: re-read and decide again
            return True
        raise _Stale(f"{change.entity_id} {change.field.value} kept changing while it was being applied")

    def _read_back(self, index: int, change: Change) -> None:
        """Verify an acknowledged write. It is recorded already: a platform that accepted a conditional,
        idempotent write has applied it, so what we read now can only be reported, not undone."""
        draft = self.current
        try:
            back = self.deps.core.reader.get_campaign(draft.account_id, change.entity_id)
        except (UpstreamError, NotFound) as exc:  # report-only: the write was acknowledged and recorded
            log.warning("%s: could not read change %d back (%s)", draft.id, index, exc.message)
            return
        value = _live_value(back, change)
        if value != change.after:
            self.read_back_mismatches[str(index)] = value
            log.warning(
                "%s: change %d was accepted but reads back as %s, not %s (changed since, or adjusted by "
                "the platform)",
                draft.id,
                index,
                self._show(value),
                self._show(change.after),
            )

    # outcomes ---------------------------------------------------------------------------------------
    def _finish(self, applied: tuple[int, ...]) -> Outcome:
        deps = self.deps
        if self.current.rollback_of is not None:
            # Before marking ourselves applied: if we die in between, the retry comes back here.
            self._mark_original_rolled_back(self.current.rollback_of)
        now = deps.core.clock.now()
        details: dict[str, JsonValue] = {"applied_changes": list(applied), "attempts": self.attempt}
        if self.read_back_mismatches:
            details["read_back_mismatches"] = self.read_back_mismatches
        self._commit(
            lifecycle.mark_applied(self.current, now=now, applied_changes=applied),
            "apply",
            details,
            note=f"{len(applied)} change(s), attempt {self.attempt}",
        )
        return Outcome.APPLIED

    def _mark_original_rolled_back(self, original_id: str) -> None:
        store = self.deps.core.store
        for _ in range(_REDECIDE_LIMIT):
            original = store.get(original_id)
            if original.status is not DraftStatus.APPLIED:
                return  # already rolled back (an earlier attempt), or never fully applied
            try:
                commit(
                    self.deps.core,
                    original,
                    lifecycle.mark_rolled_back(original, rollback_id=self.current.id),
                    actor=ACTOR,
                    action="rollback",
                    details={"status": DraftStatus.ROLLED_BACK.value, "rolled_back_by": self.current.id},
                )
            except VersionConflict:
                continue
            return

    def _stale(self, message: str) -> Outcome:
        now = self.deps.core.clock.now()
        self._commit(lifecycle.mark_stale(self.current, now=now, error=message), "stale", {"error": message})
        return Outcome.STALE

    def _fail(self, message: str) -> Outcome:
        applied = self.current.applied_changes
        self._commit(
            lifecycle.mark_failed(self.current, error=message, applied_changes=applied),
            "apply_failed",
            {"error": message, "applied_changes": list(applied), "attempts": self.attempt},
        )
        return Outcome.FAILED

    def _retry_or_give_up(self, exc: TransientUpstreamError) -> Outcome:
        deps, draft = self.deps, self.current
        deps.retries.note_error(draft.id, exc.message)
        if self.attempt >= deps.max_attempts:
            return self._fail(f"gave up after {self.attempt} attempts; last error: {exc.message}")
        now = deps.core.clock.now()
        due = now + _seconds(deps.backoff.delay(self.attempt, retry_after=exc.retry_after))
        if deps.breaker.is_open(draft.account_id):
            due = max(due, deps.breaker.paused_until(draft.account_id, now=now))
        deps.retries.schedule(draft.id, at=due)
        APPLIES.labels("retry", draft.platform).inc()
        log.warning(
            "%s attempt %d/%d failed (%s); retrying at %s",
            draft.id,
            self.attempt,
            deps.max_attempts,
            exc.message,
            due.isoformat(),
        )
        return Outcome.RETRY

    # plumbing ---------------------------------------------------------------------------------------
    def _save(self, draft: Draft) -> None:
        self.lease.check()
        self.draft = self.deps.core.store.save(draft, expected_version=self.current.version)

    def _commit(
        self, after: Draft, action: str, details: dict[str, JsonValue], *, note: str | None = None
    ) -> None:
        """An outcome of the attempt: saved under the lease, ledgered, counted, announced; retries end."""
        self.lease.check()
        before = self.current
        details = {"version": after.version, "kind": after.kind.value, **details}
        self.draft = commit(
            self.deps.core,
            before,
            after,
            actor=ACTOR,
            action=action,
            details=details,
            event=_EVENT_OF[after.status],
            note=note or (after.error if after.status is not DraftStatus.APPLIED else None),
        )
        self.deps.retries.forget(after.id)

    def _show(self, value: int | str) -> str:
        return format_money(value, self.current.currency) if isinstance(value, int) else value


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
