"""The event schema: `{"id": "evt_<ulid>", "type", "created_at", "data": draft view}`, the event
types, which of them subscribers receive, and which event a draft's current status stands for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from spendgate_core.contracts.views import draft_view
from spendgate_core.domain.ids import ulid
from spendgate_core.domain.models import Draft, DraftStatus

EventType = Literal[
    "draft.created",
    "draft.armed",
    "draft.approval_recorded",  # a human confirmed; more approvals are needed (four eyes)
    "draft.disarmed",  # every arm window passed; pending again
    "draft.approved",
    "draft.rejected",
    "draft.withdrawn",
    "draft.applied",
    "draft.apply_failed",
    "draft.stale",
    "draft.expired",
]


# What subscribers receive; the other types only drive the Slack message.
OUTBOUND_TYPES: frozenset[str] = frozenset(
    {
        "draft.created",
        "draft.approved",
        "draft.rejected",
        "draft.applied",
        "draft.apply_failed",
        "draft.stale",
        "draft.expired",
    }
)


# The event a draft's current status stands for, for `reconcile` (pending only at version 1: created).
EVENT_OF_STATUS: dict[DraftStatus, EventType] = {
    DraftStatus.PENDING: "draft.created",
    DraftStatus.APPROVED: "draft.approved",
    DraftStatus.REJECTED: "draft.rejected",
    DraftStatus.WITHDRAWN: "draft.withdrawn",
    DraftStatus.APPLIED: "draft.applied",
    DraftStatus.APPLY_FAILED: "draft.apply_failed",
    DraftStatus.STALE: "draft.stale",
    DraftStatus.EXPIRED: "draft.expired",
}


def event_payload(*, type: EventType, draft: Draft, now: datetime, url: str | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{ulid(now)}",
        "type": type,
        "created_at": now.isoformat(),
        "data": draft_view(draft, url=url),
    }


@dataclass(frozen=True)
class Event:
    """One state change of one draft version, as readers receive it; `payload` is the body."""

    type: EventType
    draft_id: str
    version: int
    payload: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.payload["id"])


def draft_event(type: EventType, draft: Draft, *, now: datetime, url: str | None) -> Event:
    payload = event_payload(type=type, draft=draft, now=now, url=url)
    return Event(type=type, draft_id=draft.id, version=draft.version, payload=payload)
