"""The tamper-evident ledger: a signed hash chain of every read, draft and decision, in Redis.

Entry format, checkpoint and the `first_bad` conventions of `verify()`: `contracts.ledger`.

Storage (`keys.Keys`): `ledger_entries` (list, RPUSH), `ledger_head` (string), `ledger_account(id)`
(list of seqs, so `latest(account_id=…)` reads only that account).

Concurrency. Appends from any number of processes form one chain: a Lua script (lua/ledger_append.lua)
appends only if the head is still the one the new entry was built on (compare-and-set), and the entry,
the head and the index change together. The last head seen is kept as a hint, so an uncontended append
is one round trip; a stale hint costs one extra. Reads keep no state. `ts` is the appender's clock;
`seq`, not `ts`, orders the ledger.

Errors: `LedgerCorruptError` when storage is not what the ledger wrote (reads and appends fail closed
rather than extend or show a broken chain); `LedgerContentionError` when an append lost the race too
many times; ValueError for an unknown action or details that are not JSON. `verify()` never raises on
tampered data: it reports.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC
from typing import Any, cast

import redis
import redis.asyncio
from pydantic import JsonValue

from spendgate_core.adapters.commands import AsyncRunner, Command, Runner, Steps
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.ledger import (
    ACTIONS,
    GENESIS_HASH,
    MAX_LIMIT,
    ChainChecker,
    EntryRequest,
    LedgerCorruptError,
    LedgerEntry,
    VerifyReport,
    canonical_json,
    checkpoint_message,
    first_difference,
    format_ts,
    read_checkpoint,
    text_of,
)
from spendgate_core.contracts.signing import LedgerSigner
from spendgate_core.domain.clock import Clock
from spendgate_core.metrics import LEDGER_ENTRIES

_BATCH = 500
MAX_GROUP = 200  # entries per group commit: one script call, well under Lua's unpack limit
_MAX_ATTEMPTS = 100
_BACKOFF_BASE_S = 0.001
_BACKOFF_CAP_S = 0.05


class LedgerContentionError(RuntimeError):
    """An append kept losing the compare-and-set to other writers and gave up."""


def _check(request: EntryRequest) -> None:
    """Refuse what could never be stored, before anything of its batch is written."""
    if request.action not in ACTIONS:
        raise ValueError(f"unknown ledger action {request.action!r}; expected one of {sorted(ACTIONS)}")
    try:
        canonical_json([request.actor, request.account_id, request.draft_id, dict(request.details)]).encode()
    except (TypeError, ValueError) as exc:  # NaN, infinity, lone surrogates, non-JSON values
        raise ValueError(f"ledger entry is not representable as JSON: {exc}") from None


def _groups(requests: Sequence[EntryRequest]) -> list[Sequence[EntryRequest]]:
    """The requests in commit-sized groups, once every one of them is known to be storable."""
    for request in requests:
        _check(request)
    return [requests[start : start + MAX_GROUP] for start in range(0, len(requests), MAX_GROUP)]


def _reply(raw: Any) -> tuple[int, str]:
    """The append script's `{status, payload}`."""
    status, payload = cast(list[Any], raw)
    try:
        return int(status), text_of(payload)
    except UnicodeDecodeError:
        raise LedgerCorruptError("the ledger checkpoint is unreadable (run spendgate audit verify)") from None


class RedisLedger:
    """The ledger in Redis. Safe to share between threads and to run in many processes at once.

    `redis` must return bytes (the default, `decode_responses=False`): verify has to be able to read
    storage that someone corrupted into invalid UTF-8.

    `append_many` is the group commit: a batch costs one round trip and one checkpoint signature however
    many entries it holds (the gateway batches the entries of concurrent tool calls through
    `AsyncLedgerAppender`). A batch larger than `MAX_GROUP` is committed as several groups.
    """

    def __init__(self, *, redis: redis.Redis, signer: LedgerSigner, clock: Clock, keys: Keys) -> None:
        if redis.get_connection_kwargs().get("decode_responses"):
            raise ValueError("RedisLedger needs a Redis client with decode_responses=False")
        self._redis = redis
        self._signer = signer
        self._verifier = signer.public_key()
        self._clock = clock
        self._entries_key = keys.ledger_entries()
        self._head_key = keys.ledger_head()
        self._account_prefix = keys.ledger_account_prefix()
        self._run = Runner.of(redis)
        # Only a guess at the current head, so an uncontended append is one round trip; the script
        # checks it, and a wrong guess comes back corrected.
        self._head_hint = ""
        # Threads of one process take turns, so the compare-and-set settles races between processes
        # (and with an `AsyncLedgerAppender` on the same ledger) rather than between threads: N threads
        # losing to each other re-sign and back off, which under concurrency costs more than the appends.
        self._append_lock = threading.Lock()

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
        request = EntryRequest(actor, action, account_id, draft_id, dict(details or {}))
        return self.append_many([request])[0]

    def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        """Append every request, in order, and return the entries. Up to `MAX_GROUP` requests are one
        commit: all of them or, on any error, none.

        ValueError for an unknown action or details that are not representable as JSON, before anything
        is written.
        """
        entries: list[LedgerEntry] = []
        with self._append_lock:
            for group in _groups(requests):
                entries += self._run.drive(self.group_commit(group))
        return entries

    def group_commit(self, requests: Sequence[EntryRequest]) -> Steps[list[LedgerEntry]]:
        """One group commit, written once for a blocking and an asyncio client (`commands`): it yields each
        run of the append script, takes the script's reply back, and returns the entries once a run wins.
        After a lost race the batch is rebuilt on top of the new head.

        For at most `MAX_GROUP` checked requests (`_groups`).
        """
        head_raw = self._head_hint
        delay = 0.0
        for tries in range(_MAX_ATTEMPTS):
            seq, prev_hash = self._parse_head(head_raw)
            built: list[tuple[LedgerEntry, str]] = []
            for request in requests:
                entry, text = self._build(seq + 1 + len(built), prev_hash, request)
                built.append((entry, text))
                prev_hash = entry.hash
            run, new_head = self._attempt(built, head_raw, seq, delay)
            status, payload = yield run
            if status == 1:
                self._head_hint = new_head
                for entry, _ in built:
                    LEDGER_ENTRIES.labels(entry.action).inc()
                return [entry for entry, _ in built]
            if status == -1:
                raise LedgerCorruptError(
                    f"ledger storage holds {payload} entries but its checkpoint says {seq}; "
                    "refusing to extend it (run spendgate audit verify)"
                )
            head_raw = payload
            self._head_hint = payload
            # The first miss is usually just a stale hint, so retry at once; later misses mean real
            # contention, and full jitter spreads the writers out.
            delay = random.uniform(0, min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2**tries)) if tries else 0.0
        raise LedgerContentionError(
            f"ledger append lost to concurrent writers {_MAX_ATTEMPTS} times; retry later"
        )

    def _attempt(
        self, built: list[tuple[LedgerEntry, str]], head_raw: str, seq: int, delay: float
    ) -> tuple[Command[tuple[int, str]], str]:
        """The script run that appends `built` if the head is still `head_raw`, and the head it writes."""
        last = built[-1][0]
        signature = self._signer.sign(checkpoint_message(last.seq, last.hash))
        new_head = canonical_json({"hash": last.hash, "seq": last.seq, "sig": signature})
        keys = [self._entries_key, self._head_key]
        index_seqs: list[int] = []
        for entry, _ in built:
            if entry.account_id is not None:
                keys.append(self._account_prefix + entry.account_id)
                index_seqs.append(entry.seq)
        args: list[str | int] = [
            head_raw,
            seq,
            new_head,
            len(built),
            *(text for _, text in built),
            *index_seqs,
        ]
        return Command(_reply, "ledger_append", keys, args, delay=delay), new_head

    def _build(self, seq: int, prev_hash: str, request: EntryRequest) -> tuple[LedgerEntry, str]:
        """The signed entry and its stored text. Built as plain JSON rather than through the model: this
        runs for every read call. The text is what `LedgerEntry.canonical()` gives for the parsed entry
        (property-tested), so verify() sees exactly the form it expects."""
        now = self._clock.now()
        details = dict(request.details)
        body: dict[str, Any] = {
            "seq": seq,
            "ts": format_ts(now),
            "actor": request.actor,
            "action": request.action,
            "account_id": request.account_id,
            "draft_id": request.draft_id,
            "details": details,
            "prev_hash": prev_hash,
        }
        hash_ = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()  # _check vouched for it
        sig = self._signer.sign(hash_.encode("ascii"))
        text = canonical_json({**body, "hash": hash_, "sig": sig})
        entry = LedgerEntry.model_construct(
            **{**body, "ts": now.astimezone(UTC)},
            hash=hash_,
            sig=sig,
        )
        return entry, text

    @staticmethod
    def _parse_head(head_raw: str) -> tuple[int, str]:
        if not head_raw:
            return 0, GENESIS_HASH
        head = read_checkpoint(head_raw)
        if head is None:
            raise LedgerCorruptError("the ledger checkpoint is unreadable (run spendgate audit verify)")
        return head[0], head[1]

    # reads ------------------------------------------------------------------------------------------
    def latest(self, *, account_id: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        limit = max(1, min(MAX_LIMIT, limit))
        if account_id is None:
            raws = cast(list[bytes], self._redis.lrange(self._entries_key, -limit, -1))
            return [self._parse(raw) for raw in reversed(raws)]
        index = cast(list[bytes], self._redis.lrange(self._account_prefix + account_id, -limit, -1))
        try:
            seqs = [int(s) for s in index]
        except ValueError:
            raise LedgerCorruptError(f"the ledger index for account {account_id!r} is unreadable") from None
        pipe = self._redis.pipeline(transaction=False)
        for seq in seqs:
            pipe.lindex(self._entries_key, seq - 1)
        found = cast(list[bytes | None], pipe.execute())
        entries = []
        for seq, raw in zip(reversed(seqs), reversed(found), strict=True):
            entry = self._parse(raw)
            if entry.seq != seq or entry.account_id != account_id:
                raise LedgerCorruptError(
                    f"the ledger index for account {account_id!r} points at the wrong entry (seq {seq})"
                )
            entries.append(entry)
        return entries

    def export(self) -> Iterator[LedgerEntry]:
        # Bounded by the length at the start, so a busy ledger cannot keep an export running forever.
        for batch in self._batches(self._redis.llen(self._entries_key)):
            for raw in batch:
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
        checked = 0
        try:
            # The checkpoint and the length are read at one instant, then exactly that many entries are
            # walked: entries never change once written, so this checks the ledger as it was at the start
            # and ends even while others keep appending faster than signatures can be checked.
            pipe = self._redis.pipeline(transaction=True)
            pipe.get(self._head_key)
            pipe.llen(self._entries_key)
            head_raw, stored = cast(tuple[bytes | None, int], tuple(pipe.execute()))
            checker = ChainChecker(self._verifier, stored=stored)
            for batch in self._batches(stored):
                for raw in batch:
                    report = checker.feed(raw)
                    if report is not None:
                        return report
                checked = checker.checked
        except redis.ResponseError as exc:  # e.g. WRONGTYPE: a key replaced by another data type
            return VerifyReport(
                ok=False,
                entries=checked,
                first_bad=checked + 1,
                reason=f"ledger storage is unreadable: {exc}",
            )
        report = checker.finish(head_raw)
        return report if not report.ok else self._verify_indexes(checker, stored=stored)

    def _verify_indexes(self, checker: ChainChecker, *, stored: int) -> VerifyReport:
        """The per-account indexes behind `latest(account_id=…)` must list exactly the chain's entries.

        Otherwise someone could hide entries from an account's audit view while the chain verifies.
        Seqs past `stored` were appended after verification started and are not judged.
        """
        expected = dict(checker.account_seqs)
        for key in self._redis.scan_iter(match=f"{self._account_prefix}*", count=500):
            account = text_of(key).removeprefix(self._account_prefix)
            try:
                listed = [int(s) for s in cast(list[bytes], self._redis.lrange(key, 0, -1))]
            except (ValueError, redis.ResponseError):
                return VerifyReport(
                    ok=False,
                    entries=stored,
                    first_bad=None,
                    reason=f"the audit index of account {account!r} is unreadable",
                )
            listed = [s for s in listed if s <= stored]
            wanted = expected.pop(account, [])
            if listed != wanted:
                return VerifyReport(
                    ok=False,
                    entries=stored,
                    first_bad=first_difference(listed, wanted),
                    reason=f"the audit index of account {account!r} does not match the chain",
                )
        if expected:
            account, seqs = next(iter(expected.items()))
            return VerifyReport(
                ok=False,
                entries=stored,
                first_bad=seqs[0],
                reason=f"the audit index of account {account!r} is missing",
            )
        return VerifyReport(ok=True, entries=stored)

    def _batches(self, total: int) -> Iterator[list[bytes]]:
        """The first `total` stored entries, a batch at a time; stops early if the list is shorter."""
        for start in range(0, total, _BATCH):
            end = min(start + _BATCH, total)
            batch = cast(list[bytes], self._redis.lrange(self._entries_key, start, end - 1))
            yield batch
            if len(batch) < end - start:
                return


class AsyncLedgerAppender:
    """`append_many` for code on an event loop, on an asyncio Redis client: the ledger's own group commit
    (`RedisLedger.group_commit`) with no worker thread. Its commits take turns.

    Appends from threads of the same process (`RedisLedger.append_many`) may interleave with these; the
    compare-and-set settles that race as it settles any other.
    """

    def __init__(self, ledger: RedisLedger, client: redis.asyncio.Redis) -> None:
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ValueError("AsyncLedgerAppender needs a Redis client with decode_responses=False")
        self._ledger = ledger
        self._run = AsyncRunner.of(client)
        self._turn = asyncio.Lock()

    async def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        """As `RedisLedger.append_many`: the entries in order; all or none within each group of
        `MAX_GROUP`."""
        entries: list[LedgerEntry] = []
        async with self._turn:
            for group in _groups(requests):
                entries += await self._run.drive(self._ledger.group_commit(group))
        return entries

    async def record(self, request: EntryRequest) -> None:
        """Return once the entry is in the ledger (an `EntryRecorder` of one entry per commit)."""
        await self.append_many([request])
