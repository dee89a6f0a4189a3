"""Committing one transition of a draft: save, ledger, metric, event, log line — always in that order.

Every state change that a human or the executor makes goes through `commit`, so the order (nothing is
announced or counted before it is saved and ledgered) and the shape of what is written live here once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import JsonValue

from spendgate_core.contracts.events import EventType
from spendgate_core.domain.models import Channel, Draft, DraftStatus
from spendgate_core.logs import bound
from spendgate_core.metrics import APPLIES, APPLY_SECONDS, DECISIONS, DRAFT_DECISION_SECONDS
from spendgate_core.usecases.announcing import announce
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)

_DECISION_OF: dict[DraftStatus, str] = {DraftStatus.APPROVED: "approve", DraftStatus.REJECTED: "reject"}
_APPLY_OUTCOMES = frozenset({DraftStatus.APPLIED, DraftStatus.STALE, DraftStatus.APPLY_FAILED})


def commit(
    deps: CoreDeps,
    before: Draft,
    after: Draft,
    *,
    actor: str,
    action: str,
    details: Mapping[str, JsonValue],
    event: EventType | None = None,
    channel: Channel | None = None,
    note: str | None = None,
) -> Draft:
    """Save `after` if the stored draft is still `before` (VersionConflict if not), then ledger `action`,
    count the outcome, announce `event` and log one line. Returns the draft as saved.

    The metric follows from the transition itself: reaching `approved` or `rejected` counts a decision
    (on `channel`), reaching `applied`, `stale` or `apply_failed` counts an apply outcome.
    """
    saved = deps.store.save(after, expected_version=before.version)
    deps.ledger.append(
        actor=actor, action=action, account_id=saved.account_id, draft_id=saved.id, details=details
    )
    if saved.status is not before.status:
        _count(deps, before, saved, channel=channel)
    if event is not None:
        announce(deps, event, saved)
    with bound(request_id=saved.request_id, draft_id=saved.id):
        # A failed apply is the one outcome someone has to look at.
        level = logging.ERROR if saved.status is DraftStatus.APPLY_FAILED else logging.INFO
        message = f"draft {action}" + (f": {note}" if note else "")
        log.log(
            level,
            message,
            extra={"event": action, "actor": actor, "channel": channel, "status": saved.status.value},
        )
    return saved


def _count(deps: CoreDeps, before: Draft, saved: Draft, *, channel: Channel | None) -> None:
    now = deps.clock.now()
    decision = _DECISION_OF.get(saved.status)
    if decision is not None and channel is not None:
        DECISIONS.labels(decision, channel).inc()
        DRAFT_DECISION_SECONDS.observe((now - before.created_at).total_seconds())
    elif saved.status in _APPLY_OUTCOMES:
        APPLIES.labels(saved.status.value, saved.platform).inc()
        if saved.status is DraftStatus.APPLIED and saved.approved_at is not None:
            APPLY_SECONDS.observe(max(0.0, (now - saved.approved_at).total_seconds()))
