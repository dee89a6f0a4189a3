"""Announcing a draft's state change: the use cases' one hook into the event stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spendgate_core.contracts.events import Event, EventType, draft_event
from spendgate_core.domain.models import Draft

if TYPE_CHECKING:
    from spendgate_core.usecases.deps import CoreDeps


def announce(deps: CoreDeps, type: EventType, draft: Draft) -> None:
    """The use cases' one-line hook: publish if this process has an event sink wired."""
    if deps.events is not None:
        deps.events.publish(type, draft, now=deps.clock.now(), url=deps.draft_url(draft.id))


def event_of(deps: CoreDeps, type: EventType, draft: Draft) -> Event | None:
    """What `announce` would publish, for a store script to write together with the change itself."""
    if deps.events is None:
        return None
    return draft_event(type, draft, now=deps.clock.now(), url=deps.draft_url(draft.id))
