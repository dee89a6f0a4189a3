"""Identifiers: draft ids are `drf_` + a 26-character ULID (sortable by creation time)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DRAFT_ID_PATTERN = r"^drf_[0-9A-HJKMNP-TV-Z]{26}$"
_DRAFT_ID = re.compile(DRAFT_ID_PATTERN)


def ulid(at: datetime) -> str:
    """48 bits of milliseconds since the epoch and 80 random bits, Crockford base32."""
    value = (int(at.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def new_draft_id(at: datetime) -> str:
    return f"drf_{ulid(at)}"


def is_draft_id(value: str) -> bool:
    # fullmatch: with match(), `$` also matches before a trailing newline ("drf_…\n").
    return bool(_DRAFT_ID.fullmatch(value))
