"""`/v1/drafts`: list, read, arm, confirm, reject and roll back drafts, for humans over REST."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator

from spendgate_approvals.dependencies import DepsDep, PrincipalDep, QueueDep, ResourcesDep
from spendgate_approvals.errors import COMMON_ERRORS, error_responses
from spendgate_approvals.schemas import AccountId, ConfirmBody, RejectBody, blank_is_none
from spendgate_core.contracts.views import draft_view
from spendgate_core.domain.models import Channel, Draft, DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.queries import visible_drafts

CHANNEL: Channel = "rest"

router = APIRouter(
    prefix="/v1/drafts", tags=["drafts"], responses=error_responses(*COMMON_ERRORS, 401, 403, 404, 422)
)


StatusFilter = Annotated[
    DraftStatus | None,
    BeforeValidator(blank_is_none),
    Query(alias="status", description="only drafts in this state"),
]
AccountFilter = Annotated[
    AccountId | None,
    BeforeValidator(blank_is_none),
    Query(description="only drafts of this account"),
]
Limit = Annotated[int, Query(ge=1, le=200, description="at most this many drafts, newest first")]


def _view(deps: CoreDeps, draft: Draft) -> dict[str, Any]:
    return draft_view(draft, url=deps.draft_url(draft.id))


def _draft_response(
    deps: CoreDeps, principal: Principal, draft: Draft, *, status_code: int = 200
) -> JSONResponse:
    """The draft, and under `decision` what this caller may do with it next and why not (core's query)."""
    body = {**_view(deps, draft), "decision": approval.options_for(deps, principal, draft).view()}
    return JSONResponse(body, status_code=status_code, headers={"ETag": f'"{draft.version}"'})


@router.get("")
def list_drafts(
    principal: PrincipalDep,
    deps: DepsDep,
    status: StatusFilter = None,
    account_id: AccountFilter = None,
    limit: Limit = 50,
) -> dict[str, list[dict[str, Any]]]:
    drafts = visible_drafts(deps=deps, principal=principal, account_id=account_id, status=status, limit=limit)
    return {"drafts": [_view(deps, d) for d in drafts]}


@router.get("/{draft_id}")
def get_draft(draft_id: str, principal: PrincipalDep, deps: DepsDep) -> JSONResponse:
    """One draft with the caller's `decision` options; its `ETag` is the version `arm` names in `If-Match`."""
    return _draft_response(deps, principal, approval.visible_draft(deps, principal, draft_id))


@router.post("/{draft_id}/arm", responses=error_responses(409, 412, 428))
def arm_draft(
    draft_id: str,
    principal: PrincipalDep,
    deps: DepsDep,
    if_match: Annotated[str | None, Header(description='the draft\'s ETag, e.g. "3"')] = None,
) -> JSONResponse:
    """Step one: bind a confirm token to this version and this human, valid for the arm window."""
    armed = approval.arm(
        deps=deps, principal=principal, draft_id=draft_id, if_match=if_match, channel=CHANNEL
    )
    body = {
        "confirm_token": armed.confirm_token,
        "confirm_before": armed.confirm_before.isoformat(),
        "draft": _view(deps, armed.draft),
    }
    # The token is a credential for the next minutes: keep it out of every cache.
    return JSONResponse(body, headers={"ETag": f'"{armed.draft.version}"', "Cache-Control": "no-store"})


@router.post("/{draft_id}/confirm", responses=error_responses(409))
def confirm_draft(
    draft_id: str, body: ConfirmBody, principal: PrincipalDep, deps: DepsDep, queue: QueueDep
) -> JSONResponse:
    """Step two: records this human's approval; at quorum the draft is approved and its apply enqueued."""
    draft = approval.confirm(
        deps=deps,
        principal=principal,
        draft_id=draft_id,
        confirm_token=body.confirm_token,
        channel=CHANNEL,
        queue=queue,
    )
    return _draft_response(deps, principal, draft)


@router.post("/{draft_id}/reject", responses=error_responses(409))
def reject_draft(draft_id: str, body: RejectBody, principal: PrincipalDep, deps: DepsDep) -> JSONResponse:
    draft = approval.reject(
        deps=deps, principal=principal, draft_id=draft_id, reason=body.reason, channel=CHANNEL
    )
    return _draft_response(deps, principal, draft)


@router.post("/{draft_id}/rollback", status_code=201, responses=error_responses(409, 502))
def rollback_draft(draft_id: str, principal: PrincipalDep, resources: ResourcesDep) -> JSONResponse:
    """Stage a `rollback` draft of an applied draft; it needs its own two-step approval."""
    deps, io = resources.deps, resources.drafting
    stage = partial(approval.request_rollback, deps=deps, io=io, principal=principal, draft_id=draft_id)
    rollback = anyio.from_thread.run(stage)
    response = _draft_response(deps, principal, rollback, status_code=201)
    response.headers["Location"] = f"/v1/drafts/{rollback.id}"
    return response
