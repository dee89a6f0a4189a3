"""`/v1/audit`: the ledger's latest entries for the caller's accounts, and a full chain verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from spendgate_approvals.dependencies import DepsDep, PrincipalDep
from spendgate_approvals.errors import COMMON_ERRORS, error_responses
from spendgate_approvals.schemas import AccountId, blank_is_none
from spendgate_core.contracts.ledger import MAX_LIMIT
from spendgate_core.usecases.queries import visible_audit

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], responses=error_responses(*COMMON_ERRORS, 401, 403, 422)
)


AccountFilter = Annotated[
    AccountId | None,
    BeforeValidator(blank_is_none),
    Query(description="only this account's entries"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many entries, newest first")]


@router.get("")
def list_entries(
    principal: PrincipalDep, deps: DepsDep, account_id: AccountFilter = None, limit: Limit = 50
) -> dict[str, list[dict[str, Any]]]:
    entries = visible_audit(deps=deps, principal=principal, account_id=account_id, limit=limit)
    return {"entries": [e.model_dump(mode="json") for e in entries]}


@router.get("/verify")
def verify(principal: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    """Recompute the whole hash chain and every signature: `{"ok", "entries", "first_bad", "reason"}`."""
    return deps.ledger.verify().model_dump()
