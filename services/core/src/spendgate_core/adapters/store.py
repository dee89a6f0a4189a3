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
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio

from spendgate_core.adapters.events import PUBLISH_ONCE_FUNCTION, announcement
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


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: Any) -> str:
    """redis-py returns bytes from a client without decode_responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _open_key(namespace: str, account_id: str) -> str:
    return f"{namespace}:open:{account_id}"


def _envelope_key(namespace: str, account_id: str) -> str:
    return f"{namespace}:envelope:{account_id}"


def _envelope_window(now: datetime) -> tuple[str, str]:
    """ZRANGEBYSCORE bounds of the rolling 24h window: reservations made after now - 24h."""
    return f"({_ms(now - timedelta(hours=24))}", "+inf"


def _envelope_total(members: builtins.list[Any]) -> int:
    """Members are `{draft_id}:{amount}`; their amounts add up to what the window has used."""
    return sum(int(_text(m).rsplit(":", 1)[1]) for m in members)


# Create a draft if none of its fields is locked and the account is under its pending limit, and announce
# it with events.PUBLISH_ONCE_FUNCTION.
# KEYS: draft, open set, all, account index, status index, expiry index, one lock per changed field, then
#       (when announcing) the event's marker and the stream.
# ARGV: 1 draft id, 2 JSON, 3 created_at ms, 4 expires_at ms, 5 max pending, 6 number of locks, then (when
#       announcing) the publish-once arguments: 7 marker TTL s, 8 stream MAXLEN, 9 event id, 10 type,
#       11 draft id, 12 payload.
# Returns {0, ''} when stored, {0, error} when stored but not announced (best effort, as `publish`),
# {1, {lock position, holder}} for a locked field, {2, pending} for a flood.
_CREATE_LUA = (
    PUBLISH_ONCE_FUNCTION
    + """
local last_lock = 6 + tonumber(ARGV[6])
for i = 7, last_lock do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, {tostring(i - 6), holder}}
  end
end
local pending = redis.call('SCARD', KEYS[2])
if pending >= tonumber(ARGV[5]) then
  return {2, pending}
end
redis.call('SET', KEYS[1], ARGV[2])
for i = 7, last_lock do
  redis.call('SET', KEYS[i], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
if #KEYS == last_lock then
  return {0, ''}
end
local added = publish_once(KEYS[last_lock + 1], KEYS[last_lock + 2], unpack(ARGV, 7, 12))
if type(added) == 'table' and added.err then
  return {0, added.err}  -- stored, not announced: `reconcile` announces it later
end
return {0, ''}
"""
)
_DUPLICATE = 1
_FLOOD = 2

# Save a draft if its stored version is the expected one, keeping every index and the envelope in step.
# KEYS: draft, envelope, open set, expiry index, new status index, the draft's held envelope member, then
#       one lock per changed field.
# ARGV: 1 id, 2 JSON, 3 expected version, 4 new status, 5 created_at ms, 6 status index prefix,
#       7 leaves the open set (0/1), 8 releases its locks (0/1), 9 envelope amount it consumes now,
#       10 reservation time ms ('' when not reserving), 11 start of the 24h window ms ('' likewise),
#       12 envelope cap, 13 increase to reserve, 14 how long the held-member key lives (ms),
#       15 the statuses that may hold a reservation, as ",a,b,".
# Envelope members are `{id}:{amount}` scored by when they were reserved; a member keeps its score
# however often the draft is saved, so an increase counts for 24h from when it went out. The member a
# draft holds ('' for none) is also kept under its own key, a little longer than members count, so a
# save finds it in O(1) instead of scanning every reservation of the account.
# The old status index is named from the stored draft (a key not in KEYS: give a hash-tagged namespace
# on Redis Cluster so every key of the store shares one slot).
# Returns {0, ''} saved, {1, ''} no such draft, {2, stored version} conflict, {3, used} over the envelope.
_SAVE_LUA = """
local raw = redis.call('GET', KEYS[1])
if not raw then
  return {1, ''}
end
local current = cjson.decode(raw)
if tonumber(current.version) ~= tonumber(ARGV[3]) then
  return {2, tostring(current.version)}
end
local held = redis.call('GET', KEYS[6])
if not held and string.find(ARGV[15], ',' .. current.status .. ',', 1, true) then
  -- Reserved before held keys existed (an upgrade with applies in flight): find it the old way, once.
  local prefix = ARGV[1] .. ':'
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then
      held = member
      break
    end
  end
end
local held_score = held and held ~= '' and redis.call('ZSCORE', KEYS[2], held)
if not held_score then
  held = nil  -- holds nothing, or its reservation is over a day old and trimmed
end
local reserving = ARGV[10] ~= ''
if reserving and tonumber(ARGV[13]) > 0 then
  local used = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[11], '+inf')) do
    used = used + tonumber(string.match(member, ':(%-?%d+)$'))
  end
  if used + tonumber(ARGV[13]) > tonumber(ARGV[12]) then
    return {3, tostring(used)}
  end
end
redis.call('SET', KEYS[1], ARGV[2])
if current.status ~= ARGV[4] then
  redis.call('ZREM', ARGV[6] .. current.status, ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
end
if ARGV[7] == '1' then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
if ARGV[8] == '1' then
  for i = 7, #KEYS do
    if redis.call('GET', KEYS[i]) == ARGV[1] then
      redis.call('DEL', KEYS[i])
    end
  end
end
if reserving or held then
  if held then
    redis.call('ZREM', KEYS[2], held)
  end
  local member = ARGV[1] .. ':' .. ARGV[9]
  if tonumber(ARGV[9]) > 0 then
    redis.call('ZADD', KEYS[2], reserving and ARGV[10] or held_score, member)
  else
    member = ''  -- known to hold nothing, so later saves need not look
  end
  redis.call('SET', KEYS[6], member, 'PX', ARGV[14])
  if reserving then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[11])
  end
end
return {0, ''}
"""
_MISSING = 1
_CONFLICT = 2
_OVER_ENVELOPE = 3
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_RESERVING = ",{},".format(",".join(sorted(s.value for s in RESERVING_STATUSES)))  # for the save script


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


class RedisDraftStore:
    def __init__(self, client: redis.Redis, *, namespace: str = "sg") -> None:
        self._r = client
        self._ns = namespace
        self._create_script = client.register_script(_CREATE_LUA)
        self._save_script = client.register_script(_SAVE_LUA)

    @property
    def namespace(self) -> str:
        return self._ns

    # keys -------------------------------------------------------------------------------------------
    def _draft_key(self, draft_id: str) -> str:
        return f"{self._ns}:draft:{draft_id}"

    def _lock_key(self, field_key: str) -> str:
        return f"{self._ns}:lock:{field_key}"

    def _open_key(self, account_id: str) -> str:
        return _open_key(self._ns, account_id)

    def _status_key_prefix(self) -> str:
        return f"{self._ns}:drafts:status:"

    def _status_key(self, status: DraftStatus) -> str:
        return self._status_key_prefix() + status.value

    def _account_key(self, account_id: str) -> str:
        return f"{self._ns}:drafts:account:{account_id}"

    def _all_key(self) -> str:
        return f"{self._ns}:drafts"

    def _expiry_key(self) -> str:
        return f"{self._ns}:drafts:expiry"  # open drafts by expires_at, so the sweep finds the due ones

    def _envelope_key(self, account_id: str) -> str:
        return _envelope_key(self._ns, account_id)

    def _held_key(self, draft_id: str) -> str:
        return f"{self._ns}:envelope:held:{draft_id}"  # the envelope member this draft holds

    # writes -----------------------------------------------------------------------------------------
    def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None:
        """Store a new pending draft, taking its field locks, and write its `announcement`; refuse a
        duplicate or a flood.

        One script, so the checks and the writes are one atomic step and one round trip.
        """
        keys, args = self._create_call(draft, max_pending=max_pending, event=event)
        _refuse_unless_created(draft, max_pending, self._create_script(keys=keys, args=args))

    def _create_call(
        self, draft: Draft, *, max_pending: int, event: Event | None
    ) -> tuple[builtins.list[str], builtins.list[str | int]]:
        """The create script's keys and arguments (see `_CREATE_LUA`)."""
        locks = [self._lock_key(k) for k in draft.field_keys()]
        keys = [
            self._draft_key(draft.id),
            self._open_key(draft.account_id),
            self._all_key(),
            self._account_key(draft.account_id),
            self._status_key(draft.status),
            self._expiry_key(),
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
            announced = announcement(event)
            keys += announced.keys
            args += announced.args
        return keys, args

    def save(self, draft: Draft, *, expected_version: int) -> Draft:
        """Replace the stored draft if its version is still `expected_version`; else VersionConflict."""
        return self._save(draft, expected_version=expected_version, reserve=None)

    def reserve_and_save(
        self, draft: Draft, *, expected_version: int, envelope_cap: int, now: datetime
    ) -> Draft:
        """Save and, in the same transaction, reserve the draft's increase in the account's 24h envelope.

        Reserving before writing upstream means two workers applying two increases at once cannot
        together exceed the envelope; a stale or failed apply gives its reservation back.
        """
        return self._save(draft, expected_version=expected_version, reserve=(envelope_cap, now))

    def _save(self, draft: Draft, *, expected_version: int, reserve: tuple[int, datetime] | None) -> Draft:
        """The compare-and-set, its index updates and the envelope entry: one script, one round trip."""
        reserve_ms = _ms(reserve[1]) if reserve is not None else None
        args: builtins.list[str | int] = [
            draft.id,
            draft.model_dump_json(),
            expected_version,
            draft.status.value,
            _ms(draft.created_at),
            self._status_key_prefix(),
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
            self._draft_key(draft.id),
            self._envelope_key(draft.account_id),
            self._open_key(draft.account_id),
            self._expiry_key(),
            self._status_key(draft.status),
            self._held_key(draft.id),
            *(self._lock_key(k) for k in draft.field_keys()),
        ]
        outcome, detail = self._save_script(keys=keys, args=args)
        if outcome == _MISSING:
            raise NotFound(f"no draft {draft.id}")
        if outcome == _CONFLICT:
            raise VersionConflict(
                f"draft {draft.id} changed meanwhile (version {int(detail)}, expected {expected_version})"
            )
        if outcome == _OVER_ENVELOPE:
            cap, used = reserve[0] if reserve is not None else 0, int(detail)
            raise PolicyViolation(
                "envelope_24h",
                f"applying adds {format_money(draft.increase, draft.currency)} but only "
                f"{format_money(max(0, cap - used), draft.currency)} of the 24h envelope is left",
            )
        return draft

    # reads ------------------------------------------------------------------------------------------
    def get(self, draft_id: str) -> Draft:
        if not is_draft_id(draft_id):
            raise NotFound(f"no draft {draft_id!r}")
        raw = self._r.get(self._draft_key(draft_id))
        if raw is None:
            raise NotFound(f"no draft {draft_id}")
        return Draft.model_validate_json(raw)

    def list(
        self, *, accounts: frozenset[str] | None, status: DraftStatus | None, limit: int
    ) -> builtins.list[Draft]:
        """Newest first. `accounts=None` means every account (a `*` principal)."""
        if accounts is not None and not accounts:
            return []
        if status is not None:
            source = self._status_key(status)
        elif accounts is not None and len(accounts) == 1:
            source = self._account_key(next(iter(accounts)))
        else:
            source = self._all_key()
        found: builtins.list[Draft] = []
        for draft in self._scan(source):
            if accounts is not None and draft.account_id not in accounts:
                continue
            if status is not None and draft.status is not status:
                continue
            found.append(draft)
            if len(found) >= limit:
                break
        return found

    def _scan(self, source: str) -> Iterator[Draft]:
        for start in range(0, _LIST_SCAN_CAP, _LIST_PAGE):
            ids = self._r.zrevrange(source, start, start + _LIST_PAGE - 1)
            if not ids:
                return
            raws = self._r.mget([self._draft_key(_text(i)) for i in ids])
            yield from (Draft.model_validate_json(raw) for raw in raws if raw is not None)

    def ids_with_status(self, status: DraftStatus) -> builtins.list[str]:
        return [_text(i) for i in self._r.zrange(self._status_key(status), 0, -1)]

    def ids_due_to_expire(self, *, now: datetime, limit: int = 1000) -> builtins.list[str]:
        """Open drafts whose expires_at has passed, oldest first, however many newer drafts exist."""
        due = self._r.zrangebyscore(self._expiry_key(), "-inf", _ms(now), start=0, num=limit)
        return [_text(i) for i in due]

    def open_count(self, account_id: str) -> int:
        return int(self._r.scard(self._open_key(account_id)))

    def envelope_used(self, account_id: str, *, now: datetime) -> int:
        return _envelope_total(self._r.zrangebyscore(self._envelope_key(account_id), *_envelope_window(now)))


class AccountCounters:
    """What every account snapshot shows from the store (envelope used, pending drafts), read in one round
    trip on an asyncio client, so the gateway's read tools never block their event loop on Redis.

    Concurrent reads of one account share a single round trip: a caller that arrives while a read is in
    flight takes its answer, which is at most one round trip older than a read of its own would be.
    """

    def __init__(self, client: redis.asyncio.Redis, *, namespace: str = "sg") -> None:
        self._r = client
        self._ns = namespace
        self._in_flight: dict[str, asyncio.Future[tuple[int, int]]] = {}

    async def read(self, account_id: str, *, now: datetime) -> tuple[int, int]:
        """`(envelope_used, open_count)` of the account, as `RedisDraftStore` would answer them."""
        shared = self._in_flight.get(account_id)
        if shared is None:
            shared = asyncio.ensure_future(self._fetch(account_id, now=now))
            self._in_flight[account_id] = shared
            shared.add_done_callback(lambda _: self._in_flight.pop(account_id, None))
        return await asyncio.shield(shared)

    async def _fetch(self, account_id: str, *, now: datetime) -> tuple[int, int]:
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zrangebyscore(_envelope_key(self._ns, account_id), *_envelope_window(now))
            pipe.scard(_open_key(self._ns, account_id))
            members, pending = await pipe.execute()
        return _envelope_total(members), int(pending)


class AsyncDraftStore:
    """What drafting writes and reads on an event loop (the gateway's draft tools), on an asyncio client:
    the same scripts and keys as `store`."""

    def __init__(self, store: RedisDraftStore, client: redis.asyncio.Redis) -> None:
        self._store = store
        self._r = client
        self._create_script = client.register_script(_CREATE_LUA)

    async def create(self, draft: Draft, *, max_pending: int, event: Event | None = None) -> None:
        """As `RedisDraftStore.create`."""
        keys, args = self._store._create_call(draft, max_pending=max_pending, event=event)
        _refuse_unless_created(draft, max_pending, await self._create_script(keys=keys, args=args))

    async def envelope_used(self, account_id: str, *, now: datetime) -> int:
        key = _envelope_key(self._store.namespace, account_id)
        return _envelope_total(await self._r.zrangebyscore(key, *_envelope_window(now)))
