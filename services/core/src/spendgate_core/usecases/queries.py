"""What a principal may read: drafts and ledger entries, limited to the accounts it sees.

Another account's id behaves exactly like an unknown one: a filter on it finds nothing.
"""

from __future__ import annotations

import heapq

from spendgate_core.contracts.ledger import LedgerEntry
from spendgate_core.domain.models import Draft, DraftStatus
from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps


def _scope(principal: Principal, account_id: str | None) -> frozenset[str] | None:
    """The accounts to read: None means every account (a `*` principal without a filter)."""
    if account_id is not None:
        return frozenset({account_id}) if principal.sees(account_id) else frozenset()
    return None if "*" in principal.accounts else frozenset(principal.accounts)


def visible_drafts(
    *, deps: CoreDeps, principal: Principal, account_id: str | None, status: DraftStatus | None, limit: int
) -> list[Draft]:
    """Newest first."""
    return deps.store.list(accounts=_scope(principal, account_id), status=status, limit=limit)


def visible_audit(
    *, deps: CoreDeps, principal: Principal, account_id: str | None, limit: int
) -> list[LedgerEntry]:
    """Newest ledger entries first. Entries bound to no account are shown only to `*` principals."""
    accounts = _scope(principal, account_id)
    if accounts is None:
        return deps.ledger.latest(limit=limit)
    per_account = [deps.ledger.latest(account_id=a, limit=limit) for a in sorted(accounts)]
    merged = heapq.merge(*per_account, key=lambda e: e.seq, reverse=True)
    return [entry for entry, _ in zip(merged, range(limit), strict=False)]
