"""Request bodies and parameters of the REST API: strict (unknown fields refused), size-limited, printable;
and the one error body every refusal uses (documented in the OpenAPI through `errors.error_responses`).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def _printable_text(value: str) -> str:
    """Refuse control characters (NUL, escapes …): this text is shown in consoles, Slack and the ledger.

    Lone surrogates never get here: pydantic already refuses them as invalid Unicode.
    """
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def blank_is_none(value: Any) -> Any:
    """`?status=&account_id=` (a parameter given empty) means no filter."""
    return None if value == "" else value


# Account ids are short platform ids; the cap keeps a hostile filter out of Redis keys and logs.
AccountId = Annotated[str, StringConstraints(max_length=128)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfirmBody(_Body):
    confirm_token: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256),
        AfterValidator(_printable_text),
        Field(description="the confirm_token returned by this human's arm"),
    ]


class RejectBody(_Body):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
        AfterValidator(_printable_text),
        Field(description="why the draft is rejected (shown to the proposer and kept in the ledger)"),
    ]


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, snake_case, e.g. not_found or validation_error")
    message: str = Field(description="what was wrong and what to do, for a human")


class ErrorBody(BaseModel):
    """`{"error": {"code", "message"}}`: the shape of every 4xx and 5xx this service answers."""

    error: ErrorDetail
