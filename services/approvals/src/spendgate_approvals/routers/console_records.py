"""The console's records: the audit log with a full chain verification, and operations (circuits, queues,
webhook deliveries)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import Response

from spendgate_approvals.console import operations
from spendgate_approvals.console.formatting import timestamp
from spendgate_approvals.console.pages import MAX_ACCOUNT_ID, visible_accounts
from spendgate_approvals.console.web import PREFIX, Visit, VisitDep, render
from spendgate_core.adapters.circuit import Circuits
from spendgate_core.contracts.ledger import LedgerCorruptError
from spendgate_core.errors import NotFound
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.queries import visible_audit

AUDIT_LIMIT = 100

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class EntryRow:
    seq: int
    when: str
    actor: str
    action: str
    account_id: str | None
    draft_id: str | None
    details: str


@router.get("/audit")
def audit(visit: VisitDep, account: str = "") -> Response:
    """The latest ledger entries the human may see, and a full verification of the chain."""
    account = account[:MAX_ACCOUNT_ID]
    rows: list[EntryRow] = []
    problem = None
    try:
        entries = visible_audit(
            deps=visit.deps, principal=visit.principal, account_id=account or None, limit=AUDIT_LIMIT
        )
        rows = [
            EntryRow(
                e.seq,
                timestamp(e.ts),
                e.actor,
                e.action,
                e.account_id,
                e.draft_id,
                json.dumps(e.details, ensure_ascii=False, sort_keys=True)[:500],
            )
            for e in entries
        ]
    except LedgerCorruptError as exc:
        problem = f"The entries cannot be shown: {exc}"
    context = {
        "nav": "audit",
        "entries": rows,
        "entries_problem": problem,
        "report": visit.deps.ledger.verify(),
        "accounts": visible_accounts(visit),
        "account": account,
    }
    return render(visit.request, "audit.html", context, visit=visit)


@router.get("/ops")
def ops(visit: VisitDep) -> Response:
    """Circuit breakers of the accounts the human sees, queue depths, and recent webhook deliveries."""
    client, keys = visit.resources.redis, visit.resources.keys
    circuits = Circuits(client, keys=keys)
    now = visit.deps.clock.now()
    visible = {a.id for a in visible_accounts(visit)}
    visible |= {a for a in circuits.accounts() if visit.principal.sees(a)}
    deliveries = [
        d
        for d in operations.deliveries(client, keys=keys)
        if d.draft_id is None or _sees_draft(visit, d.draft_id)
    ]
    context = {
        "nav": "ops",
        "circuits": [operations.circuit_view(circuits.state(a), now=now) for a in sorted(visible)],
        "queues": operations.queue_states(client),
        "deliveries": deliveries,
    }
    return render(visit.request, "ops.html", context, visit=visit)


def _sees_draft(visit: Visit, draft_id: str) -> bool:
    """Delivery rows of drafts in accounts this human cannot see are left out (no existence oracle)."""
    if "*" in visit.principal.accounts:
        return True
    try:
        approval.visible_draft(visit.deps, visit.principal, draft_id)
    except NotFound:
        return False
    return True
