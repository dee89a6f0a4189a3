"""The tamper-evident ledger (SPEC §9): a signed hash chain of every read, draft and decision, in Redis.

Entry format. Each entry is `seq` (1-based, contiguous), `ts`, `actor`, `action`, `account_id`,
`draft_id`, `details`, `prev_hash`, `hash`, `sig`, where

    hash = sha256_hex(canonical_json(every field except hash and sig))     # prev_hash included
    sig  = base64(Ed25519(hash as 64 ASCII hex characters))
    canonical_json = json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False), encoded as UTF-8
    ts   = "YYYY-MM-DDTHH:MM:SS.ffffffZ"   (UTC, always six fraction digits, literal Z)

and the first entry's `prev_hash` is 64 zeros. Storage holds each entry as exactly
`canonical_json(all fields)`; that is also what `LedgerEntry.canonical()` returns and what an export
line is.

Checkpoint. Every append also replaces a signed head record `{"hash", "seq", "sig"}`, where `sig`
signs `canonical_json({"hash": …, "seq": …})`. It is what lets `verify()` see a truncated tail, which a
hash chain alone cannot. It cannot see a rollback of the whole store (chain and checkpoint) to an
earlier, genuinely signed state; that needs an anchor outside Redis (ship `export` or the head elsewhere).

`first_bad` conventions of `verify()`:
    * a bad entry (unreadable, not in canonical form, wrong seq, broken link, wrong hash, bad signature)
      reports its position in the list, 1-based — which is the seq that belonged there. A deleted or
      swapped entry k therefore reports k.
    * a checkpoint problem (missing, unreadable, bad signature, or vouching for more entries than
      remain) reports one past the last surviving entry: for a truncated tail, the first missing seq.
    * entries beyond the checkpoint report the checkpoint's seq + 1; a last entry whose hash differs
      from the checkpoint reports that entry's seq.

Storage (namespace `ns`): `{ns}:ledger:entries` (list, RPUSH), `{ns}:ledger:head` (string),
`{ns}:ledger:account:{account_id}` (list of seqs, so `latest(account_id=…)` reads only that account).

Concurrency. Appends from any number of processes form one chain: a Lua script appends only if the head
is still the one the new entry was built on (compare-and-set), and the entry, the head and the index
change together. The last head seen is kept as a hint, so an uncontended append is one round trip; a
stale hint costs one extra. Reads keep no state.

Errors: `LedgerCorruptError` when storage is not what the ledger wrote (reads and appends fail closed
rather than extend or show a broken chain); `LedgerContentionError` when an append lost the race too
many times; ValueError for an unknown action or details that are not JSON. `verify()` never raises on
tampered data: it reports.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import redis
from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue, field_serializer, field_validator

from spendgate_core.clock import Clock
from spendgate_core.signing import LedgerSigner, LedgerVerifier

ACTIONS: frozenset[str] = frozenset(
    {
        "read",
        "draft",
        "arm",
        "confirm",
        "approve",
        "reject",
        "withdraw",
        "expire",
        "apply",
        "apply_failed",
        "stale",
        "rollback",
        "arm_expired",
    }
)

GENESIS_HASH = "0" * 64
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
MAX_LIMIT = 1000

_BATCH = 500
_MAX_ATTEMPTS = 100
_BACKOFF_BASE_S = 0.001
_BACKOFF_CAP_S = 0.05


class LedgerCorruptError(RuntimeError):
    """Ledger storage is not what the ledger wrote; run `spendgate audit verify`."""


class LedgerContentionError(RuntimeError):
    """An append kept losing the compare-and-set to other writers and gave up."""


def canonical_json(obj: object) -> str:
    """The one JSON form that is hashed, signed and stored. Raises ValueError for NaN or infinity."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def format_ts(ts: datetime) -> str:
    """`ts` in the ledger's only timestamp form, e.g. `2025-01-31T09:05:00.000000Z`."""
    if ts.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return ts.astimezone(UTC).strftime(TS_FORMAT)


class LedgerEntry(BaseModel):
    """One ledger entry. `canonical()` is its stored and exported form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    ts: AwareDatetime
    actor: str
    action: str
    account_id: str | None
    draft_id: str | None
    details: dict[str, JsonValue]
    prev_hash: str
    hash: str
    sig: str

    @field_validator("ts")
    @classmethod
    def _in_utc(cls, ts: datetime) -> datetime:
        return ts.astimezone(UTC)

    @field_serializer("ts")
    def _ts_text(self, ts: datetime) -> str:
        return format_ts(ts)

    def body(self) -> dict[str, Any]:
        """The hashed fields: everything but `hash` and `sig`, in JSON form."""
        return self.model_dump(mode="json", exclude={"hash", "sig"})

    def computed_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of `body()`."""
        return hashlib.sha256(canonical_json(self.body()).encode("utf-8")).hexdigest()

    def canonical(self) -> str:
        """The entry exactly as stored: canonical JSON of every field."""
        return canonical_json(self.model_dump(mode="json"))


class VerifyReport(BaseModel):
    """The outcome of `Ledger.verify()`; `first_bad` and `reason` are None when `ok`."""

    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None


class Ledger(Protocol):
    def append(
        self,
        *,
        actor: str,
        action: str,
        account_id: str | None = None,
        draft_id: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
    ) -> LedgerEntry:
        """Append one signed entry and return it; ValueError for an action not in ACTIONS."""
        ...

    def latest(self, *, account_id: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        """Newest first; only `account_id`'s entries when given; `limit` clamped to 1..1000."""
        ...

    def export(self) -> Iterator[LedgerEntry]:
        """Every entry, oldest first, read in batches."""
        ...

    def verify(self) -> VerifyReport:
        """Recompute the chain, every signature and the checkpoint; never raises on tampered data."""
        ...


def _checkpoint_message(seq: int, hash_: str) -> bytes:
    return canonical_json({"hash": hash_, "seq": seq}).encode("utf-8")


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8")


class ChainChecker:
    """Verifies a ledger fed oldest entry first, then its checkpoint; pure, so storage-agnostic.

    `feed` returns a failing report at the first bad entry (stop feeding then); `finish` checks the
    checkpoint against what was fed. `stored` is the entry count storage reports, for the report.
    """

    def __init__(self, verifier: LedgerVerifier) -> None:
        self._verifier = verifier
        self._count = 0
        self._last_hash = GENESIS_HASH

    def _bad(self, first_bad: int, reason: str, stored: int) -> VerifyReport:
        return VerifyReport(ok=False, entries=stored, first_bad=first_bad, reason=reason)

    def feed(self, raw: bytes | str, *, stored: int) -> VerifyReport | None:
        position = self._count + 1
        try:
            text = _text(raw)
            entry = LedgerEntry.model_validate_json(text)
            # Re-serialising catches edits that parse to the same values (whitespace, number
            # spellings, duplicate keys) and stops any lax coercion from hiding a change.
            canonical = entry.canonical() == text
            computed = entry.computed_hash()
        except ValueError:  # bad UTF-8, bad JSON, wrong fields, non-finite numbers
            return self._bad(position, f"entry {position} is unreadable", stored)
        if not canonical:
            return self._bad(position, f"entry {position} was edited in storage", stored)
        if entry.seq != position:
            return self._bad(
                position,
                f"position {position} holds seq {entry.seq}: entries were deleted, inserted or reordered",
                stored,
            )
        if entry.prev_hash != self._last_hash:
            return self._bad(position, f"entry {position} does not link to the entry before it", stored)
        if entry.hash != computed:
            return self._bad(position, f"entry {position} does not match its hash", stored)
        if not self._verifier.verify(entry.hash.encode("ascii"), entry.sig):
            return self._bad(position, f"entry {position} is not signed by the ledger key", stored)
        self._count = position
        self._last_hash = entry.hash
        return None

    def finish(self, head_raw: bytes | str | None, *, stored: int) -> VerifyReport:
        count = self._count
        if head_raw is None:
            if count == 0:
                return VerifyReport(ok=True, entries=0)
            return self._bad(count + 1, "the signed checkpoint is missing", stored)
        try:
            head = json.loads(_text(head_raw))
            seq, hash_, sig = head["seq"], head["hash"], head["sig"]
            readable = type(seq) is int and isinstance(hash_, str) and isinstance(sig, str)
        except (ValueError, TypeError, KeyError):
            readable = False
        if not readable:
            return self._bad(count + 1, "the checkpoint is unreadable", stored)
        if not self._verifier.verify(_checkpoint_message(seq, hash_), sig):
            return self._bad(count + 1, "the checkpoint is not signed by the ledger key", stored)
        if seq > count:
            return self._bad(
                count + 1, f"the checkpoint vouches for {seq} entries but {count} remain: the tail is gone", stored
            )
        if seq < count:
            return self._bad(seq + 1, f"entries after seq {seq} are not covered by the checkpoint", stored)
        if hash_ != self._last_hash:
            return self._bad(count, f"entry {count} differs from the checkpoint", stored)
        return VerifyReport(ok=True, entries=count)


# Compare-and-set append. Appends only if the head is the one the entry was built on and the list is as
# long as that head says, so the chain never forks and never grows on top of tampered storage.
# KEYS: entries, head[, account index]. ARGV: expected head ('' = none), expected length, entry, new head, seq.
# Returns {1, ''} on success, {0, current head} when another writer won, {-1, length} on a length mismatch.
_APPEND_LUA = """
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end
local length = redis.call('LLEN', KEYS[1])
if length ~= tonumber(ARGV[2]) then
  return {-1, tostring(length)}
end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
if #KEYS == 3 then
  redis.call('RPUSH', KEYS[3], ARGV[5])
end
return {1, ''}
"""


class RedisLedger:
    """The ledger in Redis. Safe to share between threads and to run in many processes at once.

    `redis` must return bytes (the default, `decode_responses=False`): verify has to be able to read
    storage that someone corrupted into invalid UTF-8.
    """

    def __init__(
        self, *, redis: redis.Redis, signer: LedgerSigner, clock: Clock, namespace: str = "sg"
    ) -> None:
        if redis.get_connection_kwargs().get("decode_responses"):
            raise ValueError("RedisLedger needs a Redis client with decode_responses=False")
        self._redis = redis
        self._signer = signer
        self._verifier = signer.public_key()
        self._clock = clock
        self._entries_key = f"{namespace}:ledger:entries"
        self._head_key = f"{namespace}:ledger:head"
        self._account_prefix = f"{namespace}:ledger:account:"
        self._append_script = redis.register_script(_APPEND_LUA)
        # Only a guess at the current head, so an uncontended append is one round trip; the script
        # checks it, and a wrong guess comes back corrected.
        self._head_hint = ""

    # writes -----------------------------------------------------------------------------------------
    def append(
        self,
        *,
        actor: str,
        action: str,
        account_id: str | None = None,
        draft_id: str | None = None,
        details: Mapping[str, JsonValue] | None = None,
    ) -> LedgerEntry:
        if action not in ACTIONS:
            raise ValueError(f"unknown ledger action {action!r}; expected one of {sorted(ACTIONS)}")
        details_dict = dict(details or {})
        keys = [self._entries_key, self._head_key]
        if account_id is not None:
            keys.append(self._account_prefix + account_id)
        head_raw = self._head_hint
        for attempt in range(_MAX_ATTEMPTS):
            seq, prev_hash = self._parse_head(head_raw)
            entry = self._build(seq + 1, prev_hash, actor, action, account_id, draft_id, details_dict)
            new_head = canonical_json(
                {"hash": entry.hash, "seq": entry.seq, "sig": self._signer.sign(_checkpoint_message(entry.seq, entry.hash))}
            )
            status, payload = self._run_append(keys, [head_raw, seq, entry.canonical(), new_head, entry.seq])
            if status == 1:
                self._head_hint = new_head
                return entry
            if status == -1:
                raise LedgerCorruptError(
                    f"ledger storage holds {payload} entries but its checkpoint says {seq}; "
                    "refusing to extend it (run spendgate audit verify)"
                )
            head_raw = payload
            self._head_hint = payload
            # The first miss is usually just a stale hint, so retry at once; later misses mean real
            # contention, and full jitter spreads the writers out.
            if attempt:
                time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**attempt)))
        raise LedgerContentionError(f"ledger append lost to concurrent writers {_MAX_ATTEMPTS} times; retry later")

    def _build(
        self,
        seq: int,
        prev_hash: str,
        actor: str,
        action: str,
        account_id: str | None,
        draft_id: str | None,
        details: dict[str, JsonValue],
    ) -> LedgerEntry:
        unsigned = LedgerEntry(
            seq=seq,
            ts=self._clock.now(),
            actor=actor,
            action=action,
            account_id=account_id,
            draft_id=draft_id,
            details=details,
            prev_hash=prev_hash,
            hash="",
            sig="",
        )
        hash_ = unsigned.computed_hash()
        return unsigned.model_copy(update={"hash": hash_, "sig": self._signer.sign(hash_.encode("ascii"))})

    def _run_append(self, keys: list[str], args: list[str | int]) -> tuple[int, str]:
        status, payload = cast(list[Any], self._append_script(keys=keys, args=args))
        return int(status), _text(payload)

    @staticmethod
    def _parse_head(head_raw: str) -> tuple[int, str]:
        if not head_raw:
            return 0, GENESIS_HASH
        try:
            head = json.loads(head_raw)
            seq, hash_ = head["seq"], head["hash"]
        except (ValueError, TypeError, KeyError):
            raise LedgerCorruptError("the ledger checkpoint is unreadable (run spendgate audit verify)") from None
        if type(seq) is not int or not isinstance(hash_, str):
            raise LedgerCorruptError("the ledger checkpoint is unreadable (run spendgate audit verify)")
        return seq, hash_

    # reads ------------------------------------------------------------------------------------------
    def latest(self, *, account_id: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        limit = max(1, min(MAX_LIMIT, limit))
        if account_id is None:
            raws = cast(list[bytes], self._redis.lrange(self._entries_key, -limit, -1))
            return [self._parse(raw) for raw in reversed(raws)]
        seqs = [int(s) for s in cast(list[bytes], self._redis.lrange(self._account_prefix + account_id, -limit, -1))]
        pipe = self._redis.pipeline(transaction=False)
        for seq in seqs:
            pipe.lindex(self._entries_key, seq - 1)
        raws = cast(list[bytes | None], pipe.execute())
        entries = []
        for seq, raw in zip(reversed(seqs), reversed(raws), strict=True):
            entry = self._parse(raw)
            if entry.seq != seq or entry.account_id != account_id:
                raise LedgerCorruptError(
                    f"the ledger index for account {account_id!r} points at the wrong entry (seq {seq})"
                )
            entries.append(entry)
        return entries

    def export(self) -> Iterator[LedgerEntry]:
        # Bounded by the length at the start, so a busy ledger cannot keep an export running forever.
        total = cast(int, self._redis.llen(self._entries_key))
        for start in range(0, total, _BATCH):
            end = min(start + _BATCH, total) - 1
            for raw in cast(list[bytes], self._redis.lrange(self._entries_key, start, end)):
                yield self._parse(raw)

    @staticmethod
    def _parse(raw: bytes | None) -> LedgerEntry:
        if raw is None:
            raise LedgerCorruptError("a ledger entry is missing (run spendgate audit verify)")
        try:
            return LedgerEntry.model_validate_json(raw)
        except ValueError:
            raise LedgerCorruptError("a ledger entry is unreadable (run spendgate audit verify)") from None

    def verify(self) -> VerifyReport:
        checker = ChainChecker(self._verifier)
        start = 0
        while True:
            raws, head_raw, stored = self._snapshot(start)
            for raw in raws:
                report = checker.feed(raw, stored=stored)
                if report is not None:
                    return report
            start += len(raws)
            if len(raws) < _BATCH:
                # This batch reached the end of the list in the same atomic read as `head_raw`, so the
                # checkpoint and the list are compared at one instant even while others append.
                return checker.finish(head_raw, stored=stored)

    def _snapshot(self, start: int) -> tuple[Sequence[bytes], bytes | None, int]:
        pipe = self._redis.pipeline(transaction=True)
        pipe.lrange(self._entries_key, start, start + _BATCH - 1)
        pipe.get(self._head_key)
        pipe.llen(self._entries_key)
        raws, head_raw, stored = pipe.execute()
        return cast(list[bytes], raws), cast(bytes | None, head_raw), int(stored)
