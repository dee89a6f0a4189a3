"""The ledger's entry format and chain checks, against an independent reference of SPEC §9 (no Redis)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from spendgate_core.contracts.ledger import (
    ACTIONS,
    GENESIS_HASH,
    ChainChecker,
    LedgerEntry,
    VerifyReport,
    canonical_json,
    format_ts,
)
from spendgate_core.contracts.signing import LedgerSigner

SIGNER = LedgerSigner(Ed25519PrivateKey.generate())
T0 = datetime(2025, 1, 31, 9, 5, 0, tzinfo=UTC)


def _spec_json(obj: object) -> str:
    # Written out again here on purpose: the test pins the format, not the implementation.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reference_chain(n: int, signer: LedgerSigner = SIGNER) -> tuple[list[str], str]:
    """n stored entry lines and the checkpoint, built straight from the spec."""
    lines, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        body: dict[str, Any] = {
            "seq": seq,
            "ts": (T0 + timedelta(seconds=seq, microseconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": f"agent-{seq % 3}",
            "action": "read",
            "account_id": f"acc-{seq % 2}" if seq % 5 else None,
            "draft_id": None,
            "details": {
                "tool": "get_account_snapshot",
                "n": seq,
                "ratio": seq / 8,
                "ünï": ["çödé", True, None],
            },
            "prev_hash": prev,
        }
        prev = hashlib.sha256(_spec_json(body).encode("utf-8")).hexdigest()
        lines.append(_spec_json({**body, "hash": prev, "sig": signer.sign(prev.encode("ascii"))}))
    head_sig = signer.sign(_spec_json({"hash": prev, "seq": n}).encode("utf-8"))
    return lines, _spec_json({"hash": prev, "seq": n, "sig": head_sig})


# Built once at import: hypothesis examples must not depend on function-scoped fixtures.
REFERENCE = reference_chain(8)


def check(lines: list[str] | list[bytes], head: str | bytes | None) -> VerifyReport:
    checker = ChainChecker(SIGNER.public_key(), stored=len(lines))
    for line in lines:
        report = checker.feed(line)
        if report is not None:
            return report
    return checker.finish(head)


def test_ts_format_is_fixed() -> None:
    assert format_ts(T0) == "2025-01-31T09:05:00.000000Z"
    plus_two = timezone(timedelta(hours=2))
    assert format_ts(datetime(2025, 1, 31, 11, 5, 0, 7, tzinfo=plus_two)) == "2025-01-31T09:05:00.000007Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_ts(datetime(2025, 1, 31))


def test_canonical_json_is_sorted_compact_unicode() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é", None]}) == '{"a":[1.5,"é",null],"b":1}'
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_hash_is_pinned() -> None:
    """A golden value: if this changes, every existing ledger stops verifying."""
    entry = LedgerEntry(
        seq=1,
        ts=T0,
        actor="claude-desktop",
        action="read",
        account_id="acc-1",
        draft_id=None,
        details={"tool": "list_accounts", "n": 2, "x": 0.5, "name": "Café"},
        prev_hash=GENESIS_HASH,
        hash="",
        sig="",
    )
    assert canonical_json(entry.body()) == (
        '{"account_id":"acc-1","action":"read","actor":"claude-desktop",'
        '"details":{"n":2,"name":"Café","tool":"list_accounts","x":0.5},"draft_id":null,'
        '"prev_hash":"' + GENESIS_HASH + '","seq":1,"ts":"2025-01-31T09:05:00.000000Z"}'
    )
    assert entry.computed_hash() == hashlib.sha256(canonical_json(entry.body()).encode()).hexdigest()
    assert entry.computed_hash() == "02b1c2decaa4629433883d8337ec26b3853be16a3ac6b43b6989266d0e4f1de2"


def test_entry_round_trips_the_reference_format() -> None:
    lines, _ = reference_chain(3)
    for line in lines:
        entry = LedgerEntry.model_validate_json(line)
        assert entry.canonical() == line
        assert entry.computed_hash() == entry.hash
        assert entry.ts.tzinfo is not None
        assert entry.ts.utcoffset() == timedelta(0)
        assert LedgerEntry.model_validate_json(entry.model_dump_json()) == entry


def test_actions_are_the_documented_set() -> None:
    documented = (
        "read draft arm confirm approve reject withdraw expire apply apply_failed stale rollback arm_expired"
    )
    assert frozenset(documented.split(" ")) == ACTIONS


def test_reference_chain_verifies() -> None:
    lines, head = reference_chain(20)
    assert check(lines, head) == VerifyReport(ok=True, entries=20)


def test_empty_ledger_without_checkpoint_is_ok() -> None:
    assert check([], None) == VerifyReport(ok=True, entries=0)


def test_bytes_are_accepted() -> None:
    lines, head = reference_chain(3)
    assert check([line.encode() for line in lines], head.encode()).ok


@pytest.mark.parametrize("k", [1, 7, 20])
def test_edited_field_detected_at_k(k: int) -> None:
    lines, head = reference_chain(20)
    doc = json.loads(lines[k - 1])
    doc["actor"] = "mallory"
    lines[k - 1] = _spec_json(doc)
    report = check(lines, head)
    assert (report.ok, report.first_bad) == (False, k)
    assert report.reason == f"entry {k} does not match its hash"


def test_rehashed_edit_without_key_detected_at_k() -> None:
    lines, head = reference_chain(20)
    doc = json.loads(lines[4])
    doc["details"] = {"tool": "nothing to see"}
    body = {key: value for key, value in doc.items() if key not in ("hash", "sig")}
    doc["hash"] = hashlib.sha256(_spec_json(body).encode()).hexdigest()
    lines[4] = _spec_json(doc)
    report = check(lines, head)
    assert report.first_bad == 5
    assert report.reason == "entry 5 is not signed by the ledger key"


def _twin(sig: str) -> str:
    """Another base64 spelling of the same 64 signature bytes (the last character's spare bits set)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return sig[:-3] + alphabet[alphabet.index(sig[-3]) ^ 1] + "=="


def test_respelled_signatures_are_detected() -> None:
    lines, head = reference_chain(5)
    doc = json.loads(lines[2])
    doc["sig"] = _twin(doc["sig"])
    lines[2] = _spec_json(doc)
    assert check(lines, head).first_bad == 3
    lines, head = reference_chain(5)
    head_doc = json.loads(head)
    head_doc["sig"] = _twin(head_doc["sig"])
    assert check(lines, _spec_json(head_doc)).reason == "the checkpoint is not signed by the ledger key"


def test_deleted_and_swapped_entries() -> None:
    lines, head = reference_chain(20)
    assert check(lines[:9] + lines[10:], head).first_bad == 10
    swapped = lines[:]
    swapped[9], swapped[10] = swapped[10], swapped[9]
    assert check(swapped, head).first_bad == 10


def test_non_canonical_spelling_detected() -> None:
    lines, head = reference_chain(5)
    lines[2] = lines[2].replace('"action":"read"', '"action": "read"')
    report = check(lines, head)
    assert (report.first_bad, report.reason) == (3, "entry 3 was edited in storage")


def test_checkpoint_problems() -> None:
    lines, head = reference_chain(10)
    missing = check(lines, None)
    assert (missing.ok, missing.first_bad, missing.reason) == (False, 11, "the signed checkpoint is missing")
    assert check(lines, "{not json").first_bad == 11
    assert check(lines, '{"hash":"x","seq":"10","sig":"y"}').first_bad == 11
    assert check(lines, head.replace(":", ": ")).reason == "the checkpoint is unreadable"  # not canonical
    assert check(lines, head[:-1] + ',"extra":1}').reason == "the checkpoint is unreadable"
    truncated = check(lines[:6], head)
    assert (truncated.first_bad, truncated.entries) == (7, 6)
    assert "tail is gone" in (truncated.reason or "")
    everything_gone = check([], head)
    assert (everything_gone.ok, everything_gone.first_bad) == (False, 1)
    _, short_head = reference_chain(6)
    assert check(lines, short_head).first_bad == 7  # entries beyond a (valid) checkpoint


def test_other_key_fails_at_first_entry() -> None:
    lines, head = reference_chain(10, LedgerSigner(Ed25519PrivateKey.generate()))
    report = check(lines, head)
    assert (report.first_bad, report.reason) == (1, "entry 1 is not signed by the ledger key")


@given(st.data())
def test_any_single_byte_change_is_detected(data: st.DataObject) -> None:
    lines, head = REFERENCE
    raw = [line.encode() for line in lines]
    k = data.draw(st.integers(0, len(raw) - 1))
    pos = data.draw(st.integers(0, len(raw[k]) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[k][pos]))
    raw[k] = raw[k][:pos] + bytes([byte]) + raw[k][pos + 1 :]
    report = check(raw, head)
    assert (report.ok, report.first_bad) == (False, k + 1)
