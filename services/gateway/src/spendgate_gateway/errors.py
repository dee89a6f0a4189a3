"""The gateway's error edge: spendgate errors and bad arguments become tool errors written for the model.

Only these deliberate errors reach the client with their text. Anything else a tool raises is masked by
FastMCP (`mask_error_details=True`) as "Error calling tool '<name>'", so no internals leak.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from fastmcp.exceptions import ToolError

from spendgate_core.errors import (
    ConfigError,
    Conflict,
    DuplicateDraft,
    Forbidden,
    InvalidInput,
    NotFound,
    PermanentUpstreamError,
    PolicyViolation,
    SpendgateError,
    TooManyRequests,
    TransientUpstreamError,
    Unauthenticated,
    UpstreamError,
)

MAX_ARGUMENT_PROBLEMS = 5


class ModelToolError(ToolError):
    """A deliberate tool error: its message tells the model what was wrong and what to do."""

    def __init__(self, message: str) -> None:
        # The caller's mistake or a refusal, not a server fault: keep it out of the error log.
        super().__init__(message, log_level=logging.INFO)


def to_tool_error(exc: SpendgateError) -> ModelToolError:
    """The one translation from the spendgate error tree to what the model reads."""
    message = exc.message
    if isinstance(exc, PolicyViolation):
        # Already "<rule>: <numbers>"; the rule name comes first so the model can reason about it.
        text = f"{message}. Propose a change within this policy limit, or ask a human to decide."
    elif isinstance(exc, DuplicateDraft):
        text = f"duplicate_draft: {message}."
    elif isinstance(exc, Conflict):
        text = f"{message}."
    elif isinstance(exc, InvalidInput):
        text = f"Invalid input: {message}. Correct the argument and call the tool again."
    elif isinstance(exc, NotFound):
        text = f"Not found: {message}."
    elif isinstance(exc, Forbidden):
        text = f"Not allowed: {message}."
    elif isinstance(exc, Unauthenticated):
        text = f"Not authenticated: {message}. Ask the operator for a valid spendgate token."
    elif isinstance(exc, TooManyRequests):
        text = f"Too many requests: {message}. Wait a little and try again."
    elif isinstance(exc, TransientUpstreamError):
        # The upstream message names hosts and exception types; the model only needs the situation.
        text = (
            "The ad platform is unreachable or overloaded right now, so the data could not be read and "
            "nothing was changed. Try again in a minute."
        )
    elif isinstance(exc, PermanentUpstreamError):
        text = f"The ad platform refused the request ({exc.status}). Nothing was changed."
    elif isinstance(exc, UpstreamError):
        text = "The ad platform answered unexpectedly. Nothing was changed; try again later."
    else:
        text = f"{message}. Try again."
    return ModelToolError(text)


@contextmanager
def model_errors() -> Iterator[None]:
    """Run a tool body, turning spendgate errors into tool errors; everything else stays masked."""
    try:
        yield
    except ConfigError:
        raise  # an operator's mistake, not the model's: masked like any internal error
    except SpendgateError as exc:
        raise to_tool_error(exc) from None


def describe_invalid_arguments(tool: str, errors: Sequence[Mapping[str, Any]]) -> str:
    """One line per bad argument, e.g. `new_daily_budget: Input should be greater than 0`."""
    parts = []
    for error in errors[:MAX_ARGUMENT_PROBLEMS]:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != tool)
        message = str(error.get("msg", "invalid value"))
        kind = error.get("type")
        if kind in ("missing_argument", "missing"):
            message = "this argument is required"
        elif kind in ("unexpected_keyword_argument", "extra_forbidden"):
            message = "there is no such argument"
        parts.append(f"{location}: {message}" if location else message)
    more = len(errors) - MAX_ARGUMENT_PROBLEMS
    tail = f" (and {more} more)" if more > 0 else ""
    return (
        f"Invalid arguments for {tool}: {'; '.join(parts)}{tail}. "
        'Check the tool\'s input schema (money is a decimal string such as "650.00") and call it again.'
    )
