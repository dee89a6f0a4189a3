"""The draft store: Redis is the system of record for drafts, with optimistic versioning.

Every write is a compare-and-set on `version` in one Lua script, so concurrent writers (two confirms,
a confirm racing an expiry sweep, two workers) never lose an update: exactly one wins, the others get
`VersionConflict` and re-read. Field locks (one open or in-flight draft per campaign field), the
indexes and the 24h envelope reservations change in the same atomic step as the draft they belong to,
and each write is one round trip.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio

from spendgate_core.adapters.commands import AsyncRunner, Command, Runner, Steps, call
from spendgate_core.adapters.events import announcement
from spendgate_core.adapters.keys import Keys
from spendgate_core.domain.ids import is_draft_id
from spendgate_core.domain.models import (
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    RESERVING_STATUSES,
    Draft,
    DraftStatus,
)
from spendgate_core.domain.money import format_money
from spendgate_core.errors import DuplicateDraft, NotFound, PolicyViolation, VersionConflict

if TYPE_CHECKING:
    from spendgate_core.contracts.events import Event

log = logging.getLogger(__name__)

_LIST_PAGE = 200
_LIST_SCAN_CAP = 5000
_DUPLICATE = 1  # create_draft.lua's outcomes
_FLOOD = 2
_MISSING = 1  # save_draft.lua's outcomes
_CONFLICT = 2
_OVER_ENVELOPE = 3
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_RESERVING = ",{},".format(",".join(sorted(s.value for s in RESERVING_STATUSES)))  # for save_draft.lua


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: Any) -> str:
    """redis-py returns bytes from a client without decode_responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _texts(values: builtins.list[Any]) -> builtins.list[str]:
    return [_text(v) for v in values]


def _envelope_total(members: builtins.list[Any]) -> int:
    """Members are `{draft_id}:{amount}`; their amounts add up to what the window has used."""
    return sum(int(_text(m).rsplit(":", 1)[1]) for m in members)


def _counters(replies: builtins.list[Any]) -> tuple[int, int]:
    members, pending = replies
    return _envelope_total(members), int(pending)


def _draft_or_missing(draft_id: str, raw: Any) -> Draft:
    if raw is None:
        raise NotFound(f"no draft {draft_id}")
    return Draft.model_validate_json(raw)


def _refuse_unless_created(draft: Draft, max_pending: int, reply: Any) -> None:
    """DuplicateDraft or PolicyViolation(max_pending_drafts) from the create script's reply; an event the
    script could not write is logged, as `events.publish` does, because the draft stands."""
    outcome, detail = reply
    if outcome == 0 and detail:
        log.error("could not announce new draft %s: %s", draft.id, _text(detail))
    if outcome == _DUPLICATE:
        index, holder = (_text(part) for part in detail)
        change = draft.changes[int(index) - 1]
        raise DuplicateDraft(
            f"draft {holder} already changes {change.field.value} of {change.entity_id}; "
            "wait until it is decided or withdraw it"
        )
    if outcome == _FLOOD:
        raise PolicyViolation(
            "max_pending_drafts",
            f"account {draft.account_id} already has {int(detail)} pending drafts (limit {max_pending}); "
            "ask an approver to decide some first",
        )


def _saved(draft: Draft, expected_version: int, cap: int, reply: Any) -> Draft:
    """The draft, or why save_draft.lua refused it."""
    outcome, detail = reply
    if outcome == _MISSING:
        raise NotFound(f"no draft {draft.id}")
    if outcome == _CONFLICT:
        raise VersionConflict(
            f"draft {draft.id} changed meanwhile (version {int(detail)}, expected {expected_version})"
        )
    if outcome == _OVER_ENVELOPE:
        used = int(detail)
        raise PolicyViolation(
            "envelope_24h",
            f"applying adds {format_money(draft.increase, draft.currency)} but only "
            f"{format_money(max(0, cap - used), draft.currency)} of the 24h envelope is left",
        )
    return draft


class DraftCommands:
    """Every operation of the store, written once as the commands that perform it; `RedisDraftStore` runs
    them on a blocking client, `AsyncDraftStore` on an asyncio one."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def create(self, draft: Draft, *, max_pending: int, event: Event | None) -> Command[None]:
        """create_draft.lua: the checks and the writes in one atomic step, and one round trip."""
        k = self.keys
        locks = [k.lock(f) for f in draft.field_keys()]
        keys = [
            k.draft(draft.id),
            k.open_drafts(draft.account_id),
            k.all_drafts(),
            k.drafts_of_account(draft.account_id),
            k.drafts_with_status(draft.status.value),
            k.expiry_index(),
            *locks,
        ]
        args: builtins.list[str | int] = [
            draft.id,
            draft.model_dump_json(),
            _ms(draft.created_at),
            _ms(draft.expires_at),
            max_pending,
            len(locks),
        ]
        if event is not None:
            announced = announcement(event, keys=k)
            keys += announced.keys
            args += announced.args
        return Command(partial(_refuse_unless_created, draft, max_pending), "create_draft", keys, args)

    def save(
        self, draft: Draft, *, expected_version: int, reserve: tuple[int, datetime] | None
    ) -> Command[Draft]:
        """save_draft.lua: the compare-and-set, its index updates and the envelope entry."""
        k = self.keys
        reserve_ms = _ms(reserve[1]) if reserve is not None else None
        args: builtins.list[str | int] = [
            draft.id,
            draft.model_dump_json(),
            expected_version,
            draft.status.value,
            _ms(draft.created_at),
            k.status_index_prefix(),
            int(draft.status not in OPEN_STATUSES),
            int(draft.status not in OPEN_STATUSES | IN_FLIGHT_STATUSES),
            draft.applied_increase(),
            "" if reserve_ms is None else reserve_ms,
            "" if reserve_ms is None else reserve_ms - _DAY_MS,
            0 if reserve is None else reserve[0],
            draft.increase if reserve is not None else 0,
            _DAY_MS + _HOUR_MS,
            _RESERVING,
        ]
        keys = [
            k.draft(draft.id),
            k.envelope(draft.account_id),
            k.open_drafts(draft.account_id),
            k.expiry_index(),
            k.drafts_with_status(draft.status.value),
            k.envelope_held(draft.id),
            *(k.lock(f) for f in draft.field_keys()),
        ]
        cap = reserve[0] if reserve is not None else 0
        return Command(partial(_saved, draft, expected_version, cap), "save_draft", keys, args)

    def get(self, draft_id: str) -> Command[Draft]:
        if not is_draft_id(draft_id):
            raise NotFound(f"no draft {draft_id!r}")
        return Command(partial(_draft_or_missing, draft_id), calls=(("GET", self.keys.draft(draft_id)),))

    def list(
        self, *, accounts: frozenset[str] | None, status: DraftStatus | None, limit: int
    ) -> Steps[builtins.list[Draft]]:
        """Newest first, a page of ids and then their drafts at a time."""
        k = self.keys
        if status is not None:
            source = k.drafts_with_status(status.value)
        elif accounts is not None and len(accounts) == 1:
            source = k.drafts_of_account(next(iter(accounts)))
        else:
            source = k.all_drafts()
        found: builtins.list[Draft] = []
        for start in range(0, _LIST_SCAN_CAP, _LIST_PAGE):
            ids = yield Command(_texts, calls=(("ZREVRANGE", source, start, start + _LIST_PAGE - 1),))
            if not ids:
                break
            raws = yield call("MGET", *(k.draft(i) for i in ids))
            for draft in (Draft.model_validate_json(raw) for raw in raws if raw is not None):
                if accounts is not None and draft.account_id not in accounts:
                    continue
                if status is not None and draft.status is not status:
                    continue
                found.append(draft)
                if len(found) >= limit:
                    return found
        return found

    def ids_with_status(self, status: DraftStatus) -> Command[builtins.list[str]]:
        return Command(_texts, calls=(("ZRANGE", self.keys.drafts_with_status(status.value), 0, -1),))

    def ids_due_to_expire(self, *, now: datetime, limit: int) -> Command[builtins.list[str]]:
        due = ("ZRANGEBYSCORE", self.keys.expiry_index(), "-inf", _ms(now), "LIMIT", 0, limit)
        return Command(_texts, calls=(due,))

    def _envelope_window(self, account_id: str, now: datetime) -> tuple[str | int, ...]:
        """The reservations of the rolling 24h window: made after now - 24h."""
        since = f"({_ms(now - timedelta(hours=24))}"
        return ("ZRANGEBYSCORE", self.keys.envelope(account_id), since, "+inf")

    def open_count(self, account_id: str) -> Command[int]:
        return Command(int, calls=(("SCARD", self.keys.open_drafts(account_id)),))

    def envelope_used(self, account_id: str, *, now: datetime) -> Command[int]:
        return Command(_envelope_total, calls=(self._envelope_window(account_id, now),))

    def counters(self, account_id: str, *, now: datetime) -> Command[tuple[int, int]]:
        """`(envelope_used, open_count)` in one round trip."""
        calls = (self._envelope_window(account_id, now), ("SCARD", self.keys.open_drafts(account_id)))
        return Command(_counters, calls=calls)


class RedisDraftStore:
    """The `DraftStore`, on a blocking client."""

    def __init__(self, client: redis.Redis, *, keys: Keys) -> None:
        self._run = Runner.of(client)
        self._commands = DraftCommands(keys)

    @property
    def keys(self) -> Keys:
        return self._commands.keys

    @property
    def client(self) -> redis.Redis:
        return self._run.client

    def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None:
        """Store a new pending draft, taking its field locks, and write its `announcement`; refuse a
        duplicate or a flood."""
        self._run.run(self._commands.create(draft, max_pending=max_pending, event=event))

    def save(self, draft: Draft, *, expected_version: int) -> Draft:
        """Replace the stored draft if its version is still `expected_version`; else VersionConflict."""
        return self._run.run(self._commands.save(draft, expected_version=expected_version, reserve=None))

    def reserve_and_save(
        self, draft: Draft, *, expected_version: int, envelope_cap: int, now: datetime
    ) -> Draft:
        """Save and, in the same transaction, reserve the draft's increase in the account's 24h envelope.

        Reserving before writing upstream means two workers applying two increases at once cannot
        together exceed the envelope; a stale or failed apply gives its reservation back.
        """
        save = self._commands.save(draft, expected_version=expected_version, reserve=(envelope_cap, now))
        return self._run.run(save)

    def get(self, draft_id: str) -> Draft:
        return self._run.run(self._commands.get(draft_id))

    def list(
        self, *, accounts: frozenset[str] | None, status: DraftStatus | None, limit: int
    ) -> builtins.list[Draft]:
        """Newest first. `accounts=None` means every account (a `*` principal)."""
        if accounts is not None and not accounts:
            return []
        return self._run.drive(self._commands.list(accounts=accounts, status=status, limit=limit))

    def ids_with_status(self, status: DraftStatus) -> builtins.list[str]:
        return self._run.run(self._commands.ids_with_status(status))

    def ids_due_to_expire(self, *, now: datetime, limit: int = 1000) -> builtins.list[str]:
        """Open drafts whose expires_at has passed, oldest first, however many newer drafts exist."""
        return self._run.run(self._commands.ids_due_to_expire(now=now, limit=limit))

    def open_count(self, account_id: str) -> int:
        return self._run.run(self._commands.open_count(account_id))

    def envelope_used(self, account_id: str, *, now: datetime) -> int:
        return self._run.run(self._commands.envelope_used(account_id, now=now))


class AsyncDraftStore:
    """What code on an event loop writes and reads (proposals, the gateway's snapshots): the same
    commands as `RedisDraftStore`, on an asyncio client.

    Concurrent `account_counters` reads of one account share a single round trip: a caller that arrives
    while a read is in flight takes its answer, at most one round trip older than a read of its own.
    """

    def __init__(self, client: redis.asyncio.Redis, *, keys: Keys) -> None:
        self._run = AsyncRunner.of(client)
        self._commands = DraftCommands(keys)
        self._in_flight: dict[str, asyncio.Future[tuple[int, int]]] = {}

    async def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None:
        await self._run.run(self._commands.create(draft, max_pending=max_pending, event=event))

    async def envelope_used(self, account_id: str, *, now: datetime) -> int:
        return await self._run.run(self._commands.envelope_used(account_id, now=now))

    async def account_counters(self, account_id: str, *, now: datetime) -> tuple[int, int]:
        """`(envelope_used, open_count)` of the account."""
        shared = self._in_flight.get(account_id)
        if shared is None:
            shared = asyncio.ensure_future(self._run.run(self._commands.counters(account_id, now=now)))
            self._in_flight[account_id] = shared
            shared.add_done_callback(lambda _: self._in_flight.pop(account_id, None))
        return await asyncio.shield(shared)
