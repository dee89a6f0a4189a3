"""The one place errors become HTTP responses: `{"error": {"code", "message"}}` with a fitting status.

SpendgateError (core)           → its table status below (most specific class wins)
RequestValidationError          → 422 validation_error, naming each field and its problem
  (a body that is not JSON)     → 400 malformed_json
Starlette HTTPException         → its status (404 unknown route, 405, 413 body too large …)
ledger storage corrupt          → 500 ledger_corrupt (says to run `spendgate audit verify`)
ledger contention, Redis down   → 503 with Retry-After
anything else                   → 500 internal_error, generic message, traceback logged
                                  (`middleware.CatchAll`)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from spendgate_approvals.schemas import ErrorBody
from spendgate_core.adapters.ledger import LedgerContentionError
from spendgate_core.contracts.ledger import LedgerCorruptError
from spendgate_core.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PermanentUpstreamError,
    PolicyViolation,
    PreconditionFailed,
    PreconditionRequired,
    SpendgateError,
    TooManyRequests,
    TransientUpstreamError,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[SpendgateError], int] = {
    InvalidInput: 422,
    PolicyViolation: 422,
    NotFound: 404,
    Unauthenticated: 401,
    Forbidden: 403,
    Conflict: 409,  # and its subclasses VersionConflict, DuplicateDraft
    PreconditionRequired: 428,
    PreconditionFailed: 412,
    TooManyRequests: 429,
    TransientUpstreamError: 503,  # the ad platform is unavailable; retry later
    PermanentUpstreamError: 502,  # the ad platform refused a read we made on the caller's behalf
    ConfigError: 500,  # answered without its detail, see _spendgate_error
}
# A bare SpendgateError is raised deliberately for transient trouble (e.g. a contended store).
DEFAULT_STATUS = 503

_MAX_PROBLEMS = 5
_MAX_LOC_PART = 60

GENERIC_500 = (
    "the approval service failed unexpectedly; the error is logged — try again or contact the operator"
)


# What each refusal means, for the OpenAPI document; every one of them has the ErrorBody shape.
_MEANINGS = {
    400: "the body is not valid JSON, or Content-Length is not a number",
    401: "no bearer token, or not one from the principals file",
    403: "an agent's token, or a human who may not do this (a viewer, or the draft's proposer)",
    404: "no such draft, or one in an account the caller may not see",
    409: "the draft's state does not allow this (decided, expired, changed meanwhile …)",
    412: "If-Match names another version than the draft's current one",
    413: "the request body is larger than the service accepts",
    422: "a parameter or the body is invalid, or a policy rule refuses it; each problem is named",
    428: "If-Match is missing",
    502: "the ad platform refused a read made for this request",
    503: "storage or the ad platform is unavailable; retry after Retry-After seconds",
}
# Any request can carry a malformed or oversized body, or find storage down.
COMMON_ERRORS = (400, 413, 503)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status documented with the shared error body."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def status_for(exc: SpendgateError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return DEFAULT_STATUS


async def _spendgate_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpendgateError)
    if isinstance(exc, ConfigError):
        # The operator's problem, not the caller's: the detail goes to the log only.
        log.error("configuration problem while serving a request: %s", exc.message)
        return error_response(500, "internal_error", GENERIC_500)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if status in {429, 503}:
        retry_after = getattr(exc, "retry_after", None)
        headers["Retry-After"] = str(max(1, round(retry_after))) if retry_after else "1"
    return error_response(status, exc.code, exc.message, headers)


_NOT_AN_OBJECT = {"model_attributes_type", "dict_type", "model_type"}


def describe_validation(errors: Sequence[Any]) -> str:
    """`reason (body): String should have at most 2000 characters; limit (query): …` — bounded in size."""
    problems = []
    for error in errors[:_MAX_PROBLEMS]:
        loc = [str(part)[:_MAX_LOC_PART] for part in error.get("loc", ())]
        if loc == ["body"] and error.get("type") in _NOT_AN_OBJECT:
            problems.append("the body must be a JSON object sent with Content-Type: application/json")
            continue
        where, field = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("request", ".".join(loc))
        problems.append(f"{field or where} ({where}): {error.get('msg', 'is invalid')}")
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS} more")
    return "; ".join(problems) or "the request is invalid"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e.get("ctx", {}).get("error", "") for e in errors if e.get("type") == "json_invalid")
        return error_response(400, "malformed_json", f"the request body is not valid JSON ({detail})")
    return error_response(422, "validation_error", describe_validation(errors))


def _http_code(status: int) -> str:
    if status == 413:
        return "content_too_large"  # RFC 9110's name; Python 3.11 still says "Request Entity Too Large"
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")
    except ValueError:
        return "server_error" if status >= 500 else "client_error"


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = "no such endpoint; the approval API lives under /v1/drafts and /v1/audit"
    elif exc.status_code == 405:
        message = "this endpoint does not accept that method"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, _http_code(exc.status_code), message, exc.headers)


async def _ledger_corrupt(_: Request, exc: Exception) -> JSONResponse:
    log.error("ledger storage is corrupt: %s", exc)
    return error_response(500, "ledger_corrupt", f"{exc}")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("storage unavailable: %s: %s", type(exc).__name__, exc)
    return error_response(
        503,
        "unavailable",
        "the approval service's storage is busy or unreachable; retry shortly",
        {"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SpendgateError, _spendgate_error)
    app.add_exception_handler(LedgerCorruptError, _ledger_corrupt)
    app.add_exception_handler(LedgerContentionError, _unavailable)
    app.add_exception_handler(redis.ConnectionError, _unavailable)
    app.add_exception_handler(redis.TimeoutError, _unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
