"""Request bodies adsim accepts, the error body it answers with, and the one place that turns validation
errors into human sentences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from spendgate_adsim.errors import InvalidRequest
from spendgate_adsim.state import Change

MAX_DAILY_BUDGET = 10**12
MAX_IDEMPOTENCY_KEY_LENGTH = 255


class CampaignChangeBody(BaseModel):
    """The body of a campaign PATCH or out-of-band edit: at least one field; JSON integers only."""

    model_config = ConfigDict(extra="forbid", strict=True)

    daily_budget: int | None = Field(default=None, ge=1, le=MAX_DAILY_BUDGET, description="Minor units.")
    status: Literal["ENABLED", "PAUSED"] | None = None

    @model_validator(mode="after")
    def _at_least_one_non_null(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give daily_budget, status or both")
        for name in sorted(self.model_fields_set):
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """`{"error": {"code", "message"}}`: every error adsim answers."""

    error: ErrorDetail


_MEANINGS = {
    401: "no bearer token, or an unknown one",
    403: "the read token cannot write",
    404: "no such account or campaign",
    412: "If-Match does not match the campaign's ETag",
    422: "invalid parameters or body, or an Idempotency-Key reused with another body",
    429: "the injected rate limit; retry after Retry-After seconds",
    504: "an injected lost answer: the change was applied but its response dropped",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the OpenAPI document: each status with the shared error body."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


def parse_change(raw: bytes) -> Change:
    """Validate a JSON body into a `Change`, or raise `InvalidRequest` saying what is wrong."""
    try:
        body = CampaignChangeBody.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors())) from None
    return Change(daily_budget=body.daily_budget, status=body.status)


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One sentence naming up to three problems, e.g. "Invalid request: daily_budget: Input should be …"."""
    parts = []
    for error in errors[:3]:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid value"))
        parts.append(f"{location}: {message}" if location else message)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f"Invalid request: {'; '.join(parts) or 'malformed input'}{more}."
