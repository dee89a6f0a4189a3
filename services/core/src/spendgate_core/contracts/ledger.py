"""The ledger's format: entries, their canonical JSON, the signed checkpoint, and the pure
chain check that `audit verify` and the Redis ledger share. Storage is `adapters.ledger`'s.

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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, JsonValue, field_serializer, field_validator

from spendgate_core.contracts.signing import LedgerVerifier

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


class LedgerCorruptError(RuntimeError):
    """Ledger storage is not what the ledger wrote; run `spendgate audit verify`."""


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
    def _tstext_of(self, ts: datetime) -> str:
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
    """The outcome of `Ledger.verify()`.

    `entries` is how many entries storage held when verification began; `first_bad` (see the module
    docstring for its conventions) and `reason`, a short sentence for humans, are None when `ok`.
    """

    ok: bool
    entries: int
    first_bad: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EntryRequest:
    """What a caller asks the ledger to record; `seq`, `ts`, the hashes and the signature are the ledger's."""

    actor: str
    action: str
    account_id: str | None = None
    draft_id: str | None = None
    details: Mapping[str, JsonValue] = field(default_factory=dict)


def first_difference(listed: list[int], wanted: list[int]) -> int | None:
    """The smallest seq an account index gets wrong: missing, extra, or out of order."""
    differing = set(listed) ^ set(wanted)
    if differing:
        return min(differing)
    return next((a for a, b in zip(listed, wanted, strict=False) if a != b), None) or (
        listed[len(wanted)] if len(listed) > len(wanted) else None
    )


def checkpoint_message(seq: int, hash_: str) -> bytes:
    return canonical_json({"hash": hash_, "seq": seq}).encode("utf-8")


def text_of(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8")


def read_checkpoint(raw: bytes | str) -> tuple[int, str, str] | None:
    """`(seq, hash, sig)` of a stored checkpoint, or None unless it is exactly what append writes."""
    try:
        text = text_of(raw)
        head = json.loads(text)
        if not isinstance(head, dict) or head.keys() != {"hash", "seq", "sig"}:
            return None
        seq, hash_, sig = head["seq"], head["hash"], head["sig"]
        if type(seq) is not int or not isinstance(hash_, str) or not isinstance(sig, str):
            return None
        return (seq, hash_, sig) if canonical_json(head) == text else None
    except ValueError:  # bad UTF-8 or bad JSON
        return None


class ChainChecker:
    """Verifies a ledger fed oldest entry first, then its checkpoint; pure, so storage-agnostic.

    `feed` returns a failing report at the first bad entry (stop feeding then); `finish` checks the
    checkpoint against what was fed. `stored` is how many entries storage held, echoed in reports.
    """

    def __init__(self, verifier: LedgerVerifier, *, stored: int) -> None:
        self._verifier = verifier
        self._stored = stored
        self._count = 0
        self._last_hash = GENESIS_HASH
        self.account_seqs: dict[str, list[int]] = {}  # what each per-account index must list

    @property
    def checked(self) -> int:
        """How many entries have been fed and found good."""
        return self._count

    def _bad(self, first_bad: int, reason: str) -> VerifyReport:
        return VerifyReport(ok=False, entries=self._stored, first_bad=first_bad, reason=reason)

    def feed(self, raw: bytes | str) -> VerifyReport | None:
        position = self._count + 1
        try:
            text = text_of(raw)
            entry = LedgerEntry.model_validate_json(text)
            # Re-serialising catches edits that parse to the same values (whitespace, number
            # spellings, duplicate keys) and stops any lax coercion from hiding a change.
            canonical = entry.canonical() == text
            computed = entry.computed_hash()
        except ValueError:  # bad UTF-8, bad JSON, wrong fields, non-finite numbers
            return self._bad(position, f"entry {position} is unreadable")
        if not canonical:
            return self._bad(position, f"entry {position} was edited in storage")
        if entry.seq != position:
            return self._bad(
                position,
                f"position {position} holds seq {entry.seq}: entries were deleted, inserted or reordered",
            )
        if entry.prev_hash != self._last_hash:
            return self._bad(position, f"entry {position} does not link to the entry before it")
        if entry.hash != computed:
            return self._bad(position, f"entry {position} does not match its hash")
        if not self._verifier.verify(entry.hash.encode("ascii"), entry.sig):
            return self._bad(position, f"entry {position} is not signed by the ledger key")
        self._count = position
        self._last_hash = entry.hash
        if entry.account_id is not None:
            self.account_seqs.setdefault(entry.account_id, []).append(position)
        return None

    def finish(self, head_raw: bytes | str | None) -> VerifyReport:
        count = self._count
        if head_raw is None:
            if count == 0:
                return VerifyReport(ok=True, entries=0)
            return self._bad(count + 1, "the signed checkpoint is missing")
        head = read_checkpoint(head_raw)
        if head is None:
            return self._bad(count + 1, "the checkpoint is unreadable")
        seq, hash_, sig = head
        if not self._verifier.verify(checkpoint_message(seq, hash_), sig):
            return self._bad(count + 1, "the checkpoint is not signed by the ledger key")
        if seq > count:
            return self._bad(
                count + 1, f"the checkpoint vouches for {seq} entries but {count} remain: the tail is gone"
            )
        if seq < count:
            return self._bad(seq + 1, f"entries after seq {seq} are not covered by the checkpoint")
        if hash_ != self._last_hash:
            return self._bad(count, f"entry {count} differs from the checkpoint")
        return VerifyReport(ok=True, entries=count)
