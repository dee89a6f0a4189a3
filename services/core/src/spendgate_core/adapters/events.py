"""Draft events: the Redis Stream every state change is announced on, and its readers' plumbing.

An event is `{"id": "evt_<ulid>", "type", "created_at", "data": views.draft_view(draft)}`. Slack (consumer
group `slack`, in the approval service) and the outbound webhook relay (group `webhooks`, in the executor)
read the stream; each group shares its work between replicas and acknowledges what it handled.

Guarantee, honestly: `draft.created` is written by the store's create script, in the same step as the
draft (so it may reach readers just before the draft's ledger entry is appended). Every later event is
published right *after* its state change is saved, not in the same transaction. A process that dies
between the two, or a Redis error on the XADD, loses that event (the failure is logged; the decision
stands). `reconcile` closes most of that gap: run periodically (the executor's event relay does), it
publishes the missing event of any recent draft whose current state was never announced. Each (draft,
version) is announced at most once — a marker written in the same script as the XADD, after it — so a
retried use case or a reconcile pass never duplicates an event. Events of states a draft has already
left (an `approved` that is `applied` a second later) are not recovered; readers must treat events as
"this draft changed" and read the draft's current state for anything that matters.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis

from spendgate_core.adapters.commands import Command, Runner
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.events import EVENT_OF_STATUS, Event, EventType, draft_event
from spendgate_core.domain.models import Draft, DraftStatus

if TYPE_CHECKING:
    from spendgate_core.usecases.ports import DraftStore

log = logging.getLogger(__name__)

STREAM_MAXLEN = 10_000  # approximate (MAXLEN ~): a few days of drafts; readers are seconds behind
MARKER_TTL = timedelta(days=7)  # longer than any reconcile lookback, so nothing is announced twice
DELIVERY_LOG_MAX = 1000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Announcement:
    """One event as the publish-once script takes it. `publish` runs that script alone; the store's create
        script runs the same steps, so a new draft and its `draft.created` are written in one atomic step.
        Either way the event goes to the Redis the draft is stored in, whatever `EventSink` is wired (lua/:
    `publish_event` alone, `create_draft` with the draft; both include `publish_once`)."""

    event_id: str
    keys: tuple[str, str]  # the (draft, version) marker, the stream
    args: tuple[str | int, ...]  # marker TTL (s), stream MAXLEN, event id, type, draft id, payload


def announcement(event: Event, *, keys: Keys) -> Announcement:
    return Announcement(
        event_id=event.id,
        keys=(keys.event_marker(event.draft_id, event.version), keys.events()),
        args=(
            int(MARKER_TTL.total_seconds()),
            STREAM_MAXLEN,
            event.id,
            event.type,
            event.draft_id,
            json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
        ),
    )


def publish(
    client: redis.Redis,
    *,
    type: EventType,
    draft: Draft,
    now: datetime,
    url: str | None = None,
    keys: Keys,
) -> str | None:
    """Append the event to the stream unless this draft version was announced already; its id, or None.

    Best effort by contract: a Redis failure is logged and swallowed, because the state change it
    announces is already saved and must stand (see the module docstring for what recovers it).
    """
    event = announcement(draft_event(type, draft, now=now, url=url), keys=keys)
    try:
        added = Runner.of(client).run(Command(bool, "publish_event", event.keys, event.args))
    except redis.RedisError as exc:
        log.error("could not publish %s for %s v%d: %s", type, draft.id, draft.version, exc)
        return None
    return event.event_id if added else None


class RedisEvents:
    """The real `EventSink`: the event stream on the deployment's Redis."""

    def __init__(self, client: redis.Redis, *, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    def publish(self, type: EventType, draft: Draft, *, now: datetime, url: str | None) -> None:
        publish(self._r, type=type, draft=draft, now=now, url=url, keys=self._keys)


def _last_change(draft: Draft) -> datetime:
    stamps = (draft.created_at, draft.decided_at, draft.approved_at, draft.applied_at)
    return max(s for s in stamps if s is not None)


def reconcile(
    *,
    store: DraftStore,
    client: redis.Redis,
    now: datetime,
    url_for: Callable[[str], str] | None = None,
    lookback: timedelta = timedelta(hours=6),
    per_status: int = 200,
    keys: Keys,
) -> list[str]:
    """Publish the missing event of recent drafts whose current state was never announced; their ids.

    Looks at the newest `per_status` drafts of each announced status changed within `lookback`.
    """
    published: list[str] = []
    for status, type in EVENT_OF_STATUS.items():
        drafts = [
            d
            for d in store.list(accounts=None, status=status, limit=per_status)
            if _last_change(d) >= now - lookback and (status is not DraftStatus.PENDING or d.version == 1)
        ]
        if not drafts:
            continue
        seen = client.mget([keys.event_marker(d.id, d.version) for d in drafts])
        for draft, marker in zip(drafts, seen, strict=True):
            if marker is None:
                url = url_for(draft.id) if url_for else None
                if publish(client, type=type, draft=draft, now=now, url=url, keys=keys):
                    log.warning("reconciled a lost %s event for %s v%d", type, draft.id, draft.version)
                    published.append(draft.id)
    return published


# readers ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamEvent:
    """One stream entry as a consumer group hands it out."""

    stream_id: str
    id: str
    type: str
    draft_id: str
    payload: str  # the exact JSON text published (what subscribers receive, byte for byte)

    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload)
        return parsed


def _parse(entry: Any) -> StreamEvent | None:
    stream_id, fields = entry
    if fields is None:  # the entry was trimmed away (MAXLEN) while it was pending
        return None
    values = {_text(k): _text(v) for k, v in fields.items()}
    try:
        return StreamEvent(
            _text(stream_id), values["id"], values["type"], values["draft_id"], values["payload"]
        )
    except KeyError:
        log.error("ignoring malformed event %s in the event stream", _text(stream_id))
        return None


def ensure_group(client: redis.Redis, group: str, *, keys: Keys) -> None:
    """Create the consumer group at the stream's end: a new reader starts now, not with the history."""
    try:
        client.xgroup_create(keys.events(), group, id="$", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def read_new(
    client: redis.Redis,
    *,
    group: str,
    consumer: str,
    count: int,
    block_ms: int | None,
    keys: Keys,
) -> list[tuple[str, StreamEvent | None]]:
    """Entries never delivered to the group, as (stream id, event or None when unreadable)."""
    # RESP2 shape: [[stream, [(id, fields), …]]] (redis-py's annotation also allows RESP3's dict).
    answer: Any = client.xreadgroup(group, consumer, {keys.events(): ">"}, count=count, block=block_ms)
    entries = answer[0][1] if answer else []
    return [(_text(entry[0]), _parse(entry)) for entry in entries]


def claim_stale(
    client: redis.Redis,
    *,
    group: str,
    consumer: str,
    min_idle_ms: int,
    count: int,
    keys: Keys,
) -> list[tuple[str, StreamEvent | None]]:
    """Take over entries another consumer (a dead replica, or this one after a failure) left unacked."""
    answer: Any = client.xautoclaim(keys.events(), group, consumer, min_idle_time=min_idle_ms, count=count)
    entries = answer[1] if answer else []
    return [(_text(entry[0]), _parse(entry)) for entry in entries]


def ack(client: redis.Redis, *, group: str, stream_ids: Sequence[str], keys: Keys) -> None:
    if stream_ids:
        client.xack(keys.events(), group, *stream_ids)


# the delivery log (written by the executor's deliveries, read by the console) --------------------------
def display_url(url: str) -> str:
    """A subscriber URL without credentials or query (they may carry tokens), for logs and the console."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def record_delivery(client: redis.Redis, entry: dict[str, Any], *, keys: Keys) -> None:
    """Prepend one delivery attempt to the capped log."""
    pipe = client.pipeline(transaction=True)
    pipe.lpush(keys.deliveries(), json.dumps(entry, separators=(",", ":"), sort_keys=True))
    pipe.ltrim(keys.deliveries(), 0, DELIVERY_LOG_MAX - 1)
    pipe.execute()


def recent_deliveries(client: redis.Redis, limit: int = 50, *, keys: Keys) -> list[dict[str, Any]]:
    """The newest outbound delivery attempts first: `event_id`, `type`, `draft_id`, `url` (no query),
    `attempt`, `outcome` (`delivered` | `retrying` | `failed`), `http_status`, `error`, `at`,
    `duration_ms`, `next_attempt_at`."""
    raw = client.lrange(keys.deliveries(), 0, max(0, min(limit, DELIVERY_LOG_MAX)) - 1)
    entries: list[dict[str, Any]] = [json.loads(r) for r in raw]
    return entries
