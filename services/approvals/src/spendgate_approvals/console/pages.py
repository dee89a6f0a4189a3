"""The console's shared pages and lookups: not found, trouble (an error page), the accounts filter."""

from __future__ import annotations

from fastapi.responses import Response

from spendgate_approvals.console.web import PREFIX, Visit, problem_for, render
from spendgate_core.domain.platform import Account
from spendgate_core.errors import SpendgateError

# An over-long account id matches nothing anyway; the cap keeps it out of Redis keys.
MAX_ACCOUNT_ID = 128


def visible_accounts(visit: Visit) -> list[Account]:
    try:
        return visit.deps.catalog.visible_to(visit.principal)
    except SpendgateError:
        return []  # the platform is unreachable: the filter offers no names, the drafts still show


def not_found(visit: Visit, message: str) -> Response:
    context = {
        "heading": "Not found",
        "message": message,
        "back_href": f"{PREFIX}/",
        "back_label": "Back to the drafts",
    }
    return render(visit.request, "error.html", context, visit=visit, status_code=404)


def trouble(visit: Visit, exc: Exception) -> Response:
    status_code, banner = problem_for(exc)
    context = {
        "heading": banner.title,
        "message": banner.message,
        "back_href": f"{PREFIX}/",
        "back_label": "Back to the drafts",
    }
    return render(visit.request, "error.html", context, visit=visit, status_code=status_code, flash=False)
