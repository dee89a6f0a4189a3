"""How the console writes money, values, durations and times for people."""

from __future__ import annotations

from datetime import UTC, datetime

from spendgate_core.domain.models import Change, ChangeField, DraftKind, DraftStatus
from spendgate_core.domain.money import format_money

STATUS_LABELS: dict[DraftStatus, str] = {
    DraftStatus.PENDING: "Pending",
    DraftStatus.ARMED: "Armed",
    DraftStatus.APPROVED: "Approved, queued",
    DraftStatus.APPLYING: "Applying",
    DraftStatus.APPLIED: "Applied",
    DraftStatus.APPLY_FAILED: "Apply failed",
    DraftStatus.STALE: "Stale",
    DraftStatus.REJECTED: "Rejected",
    DraftStatus.WITHDRAWN: "Withdrawn",
    DraftStatus.EXPIRED: "Expired",
    DraftStatus.ROLLED_BACK: "Rolled back",
}

KIND_LABELS: dict[DraftKind, str] = {
    DraftKind.BUDGET_CHANGE: "Budget change",
    DraftKind.BUDGET_SHIFT: "Budget shift",
    DraftKind.STATUS_CHANGE: "Status change",
    DraftKind.ROLLBACK: "Rollback",
}

FIELD_LABELS: dict[ChangeField, str] = {
    ChangeField.DAILY_BUDGET: "daily budget",
    ChangeField.STATUS: "status",
}


def signed_money(minor: int, currency: str) -> str:
    """`+50.00 USD`, `-12.50 EUR`, `0.00 USD`: a delta always shows its direction."""
    text = format_money(minor, currency)
    return f"+{text}" if minor > 0 else text


def value_text(change: Change, value: int | str, currency: str) -> str:
    """A before/after/live value: money for budgets, a word for statuses."""
    if change.field is ChangeField.DAILY_BUDGET:
        return format_money(int(value), currency)
    return str(value).capitalize()


def duration(seconds: float) -> str:
    """`45 s`, `3 min`, `2 h 5 min`, `1 d 3 h` — two units at most."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total} s"
    minutes, _ = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(at: datetime, now: datetime) -> str:
    seconds = (now - at).total_seconds()
    return "just now" if seconds < 5 else f"{duration(seconds)} ago"


def until(at: datetime, now: datetime) -> str:
    seconds = (at - now).total_seconds()
    return f"in {duration(seconds)}" if seconds > 0 else f"{duration(-seconds)} ago"


def timestamp(at: datetime) -> str:
    """`2025-01-31 09:05:03 UTC`."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def countdown(seconds: float) -> str:
    """`1:58`: what the confirm button's timer shows before its script takes over."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
