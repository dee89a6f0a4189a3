"""Prometheus metric definitions shared by every service. Labels carry bounded values only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# MCP calls are mostly cache hits and Redis writes: milliseconds, with a tail into upstream reads.
MCP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Apply latency spans a fast idle queue (tens of ms) to retries with backoff (minutes).
APPLY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
# Humans decide in minutes to days.
DECISION_BUCKETS = (
    5.0,
    30.0,
    60.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    4 * 3600.0,
    12 * 3600.0,
    24 * 3600.0,
    48 * 3600.0,
)

MCP_TOOL_CALLS = Counter("spendgate_mcp_tool_calls", "MCP tool calls by outcome", ["tool", "outcome"])
MCP_TOOL_DURATION = Histogram(
    "spendgate_mcp_tool_duration_seconds", "MCP tool call latency", ["tool"], buckets=MCP_BUCKETS
)
DRAFTS_CREATED = Counter("spendgate_drafts_created", "Drafts created", ["kind"])
DRAFTS_REFUSED = Counter("spendgate_drafts_refused", "Draft proposals refused, by rule", ["rule"])
DECISIONS = Counter("spendgate_decisions", "Human decisions by channel", ["decision", "channel"])
DRAFT_DECISION_SECONDS = Histogram(
    "spendgate_draft_decision_seconds", "Time from draft creation to its decision", buckets=DECISION_BUCKETS
)
APPLIES = Counter("spendgate_applies", "Apply outcomes", ["outcome", "platform"])
APPLY_SECONDS = Histogram("spendgate_apply_seconds", "Time from approval to applied", buckets=APPLY_BUCKETS)
UPSTREAM_REQUESTS = Counter(
    "spendgate_upstream_requests", "Requests to the ad platform", ["platform", "operation", "status"]
)
QUEUE_DEPTH = Gauge("spendgate_queue_depth", "Jobs waiting in a queue", ["queue"])
ENVELOPE_USED_RATIO = Gauge("spendgate_envelope_used_ratio", "Share of the 24h envelope used", ["account"])
CIRCUIT_OPEN = Gauge("spendgate_circuit_open", "1 while applies for the account are paused", ["account"])
QUEUE_OLDEST_JOB_AGE = Gauge(
    "spendgate_queue_oldest_job_age_seconds", "Age of the oldest job waiting in a queue", ["queue"]
)
WORKERS_ALIVE = Gauge("spendgate_workers_alive", "Executor workers registered and heartbeating")
LEDGER_VERIFY_OK = Gauge("spendgate_ledger_verify_ok", "1 if the last ledger verification passed, else 0")
LEDGER_ENTRIES = Counter("spendgate_ledger_entries", "Ledger entries appended", ["action"])


def prime(*, platform: str) -> None:
    """Create the label combinations we know of at zero, so `increase()` alerts see the first event."""
    for kind in ("budget_change", "budget_shift", "status_change", "rollback"):
        DRAFTS_CREATED.labels(kind)
    for rule in (
        "max_change_pct",
        "max_daily_budget",
        "min_daily_budget",
        "envelope_24h",
        "max_pending_drafts",
        "duplicate_draft",
        "expected_current_budget",
        "unknown_entity",
        "invalid_input",
    ):
        DRAFTS_REFUSED.labels(rule)
    for channel in ("rest", "console", "slack", "webhook", "cli"):
        DECISIONS.labels("approve", channel)
        DECISIONS.labels("reject", channel)
    for outcome in ("applied", "stale", "apply_failed", "retry"):
        APPLIES.labels(outcome, platform)
