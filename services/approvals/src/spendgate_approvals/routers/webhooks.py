"""`POST /v1/webhooks/decisions`: a Standard-Webhooks-signed approve/reject from an external system.

401 on any verification failure (missing or malformed headers, bad signature, timestamp outside ±5
minutes); then each `webhook-id` is processed once and a replay gets the first response back (with
`Webhook-Replayed: true`), whatever it was. The decision's own outcome maps like every other
endpoint's: 422 bad body, 403 approver not a human approver (or the proposer), 409 wrong `version`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from spendgate_approvals.dependencies import ResourcesDep
from spendgate_approvals.errors import (
    COMMON_ERRORS,
    describe_validation,
    error_response,
    error_responses,
    status_for,
)
from spendgate_approvals.webhooks.decisions import DecisionBody, decide
from spendgate_approvals.webhooks.inbox import Busy, StoredResponse
from spendgate_approvals.wiring import Resources
from spendgate_core.errors import ConfigError, SpendgateError

router = APIRouter(
    prefix="/v1/webhooks",
    tags=["webhooks"],
    responses=error_responses(*COMMON_ERRORS, 401, 403, 404, 409, 422),
)


async def _raw_body(request: Request) -> bytes:
    return await request.body()  # signed bytes, verified before parsing


RawBody = Annotated[bytes, Depends(_raw_body)]


def _error(status: int, code: str, message: str) -> StoredResponse:
    return StoredResponse(status=status, body={"error": {"code": code, "message": message}})


def _process(resources: Resources, body: bytes) -> StoredResponse:
    """The decision's outcome as the response to remember for this webhook-id."""
    try:
        parsed = DecisionBody.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(400, "malformed_json", "the request body is not valid JSON")
        return _error(422, "validation_error", describe_validation(errors))
    try:
        outcome: dict[str, Any] = decide(
            deps=resources.deps, principals=resources.principals, queue=resources.queue, body=parsed
        )
    except ConfigError:
        raise  # the operator's problem: answered by the error handler, not remembered
    except SpendgateError as exc:
        return _error(status_for(exc), exc.code, exc.message)
    return StoredResponse(status=200, body=outcome)


@router.post("/decisions")
def decisions(request: Request, body: RawBody, resources: ResourcesDep) -> JSONResponse:
    webhook, inbox = resources.decision_webhook, resources.webhook_inbox
    if webhook is None or inbox is None:
        return error_response(
            404,
            "webhooks_not_configured",
            "signed decisions are off; set SPENDGATE_WEBHOOK_SECRET to turn them on",
        )
    headers = {
        name: request.headers[name]
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if name in request.headers
    }
    try:
        webhook.verify(body, headers, json_parse=False)
    except Exception:
        # standardwebhooks raises its own error for a bad signature but ValueError, binascii.Error or
        # UnicodeDecodeError for malformed headers or bodies: all of them are a 401, never a 500.
        return error_response(
            401,
            "invalid_signature",
            "webhook-id, webhook-timestamp and webhook-signature must be present, the timestamp within "
            "5 minutes of now and the signature valid for this body",
        )
    webhook_id = headers["webhook-id"]
    earlier = inbox.begin(webhook_id)
    if isinstance(earlier, Busy):
        return error_response(
            409,
            "webhook_in_progress",
            "this webhook-id is being processed right now; retry shortly",
            {"Retry-After": "1"},
        )
    if earlier is not None:
        return JSONResponse(earlier.body, status_code=earlier.status, headers={"Webhook-Replayed": "true"})
    try:
        response = _process(resources, body)
    except BaseException:
        inbox.abandon(webhook_id)
        raise
    inbox.finish(webhook_id, response)
    return JSONResponse(response.body, status_code=response.status)
