"""The spendgate error tree; each edge (FastAPI, FastMCP, the worker) translates it once.

SpendgateError
├── InvalidInput            bad value from a caller (422)
├── NotFound                unknown id, or an id the caller may not see (404; no existence oracle)
├── Unauthenticated         no or unknown credentials (401)
├── Forbidden               authenticated, not allowed (403)
├── Conflict                the state does not allow this now (409)
│   ├── VersionConflict     a concurrent writer won; re-read and retry
│   └── DuplicateDraft      a pending draft already targets the same field
├── PreconditionRequired    If-Match missing (428)
├── PreconditionFailed      If-Match stale (412)
├── PolicyViolation         a policy rule refuses the change (422), names the rule
├── TooManyRequests         a flood guard tripped (429)
├── UpstreamError           the ad platform answered badly
│   ├── TransientUpstreamError   timeouts, 5xx, 429: retry later
│   └── PermanentUpstreamError   4xx: retrying cannot help
└── ConfigError             a setting is missing or malformed (service refuses to start)
"""

from __future__ import annotations


class SpendgateError(Exception):
    """Base of every error spendgate raises on purpose. `code` is stable; `message` is for humans."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(SpendgateError):
    code = "invalid_input"


class NotFound(SpendgateError):
    code = "not_found"


class Unauthenticated(SpendgateError):
    code = "unauthenticated"


class Forbidden(SpendgateError):
    code = "forbidden"


class Conflict(SpendgateError):
    code = "conflict"


class VersionConflict(Conflict):
    code = "version_conflict"


class DuplicateDraft(Conflict):
    code = "duplicate_draft"


class PreconditionRequired(SpendgateError):
    code = "precondition_required"


class PreconditionFailed(SpendgateError):
    code = "precondition_failed"


class PolicyViolation(SpendgateError):
    """A policy rule refused the change; `rule` is the policy key (e.g. `max_change_pct`)."""

    code = "policy_violation"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule


class TooManyRequests(SpendgateError):
    code = "too_many_requests"


class UpstreamError(SpendgateError):
    code = "upstream_error"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TransientUpstreamError(UpstreamError):
    code = "upstream_unavailable"


class PermanentUpstreamError(UpstreamError):
    code = "upstream_rejected"


class ConfigError(SpendgateError):
    code = "config_error"
