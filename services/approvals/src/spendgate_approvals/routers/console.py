"""`/console`: the web console — sign-in, the queue, a draft's two-step decision, the audit log, operations.

Its routes live by role in `console_signin`, `console_drafts` and `console_records`; this module installs
them, in order, before the catch-all page. Who is asking is settled before a handler runs (`console.web`:
a Redis session, and for every POST the session's CSRF token and the origin checks). The bearer API under
/v1 never looks at the console's cookie.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from spendgate_approvals.console.pages import not_found
from spendgate_approvals.console.web import (
    HERE,
    PREFIX,
    CrossSiteRefused,
    LoginRequired,
    VisitDep,
    build_config,
    refused,
    to_login,
)
from spendgate_approvals.routers import console_drafts, console_records, console_signin
from spendgate_approvals.settings import ApprovalsSettings

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def install(app: FastAPI, settings: ApprovalsSettings) -> None:
    """Add the console to the app: its config, its two exception handlers, its static files and routes."""
    app.state.console = build_config(settings)
    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CrossSiteRefused, refused)
    # Before the router: its catch-all page would otherwise answer for /console/static/*.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for part in (console_signin, console_drafts, console_records):
        app.include_router(part.router)
    app.include_router(router)  # last: its catch-all answers only what no other console route does


@router.get("/{path:path}")
def unknown_page(path: str, visit: VisitDep) -> Response:
    return not_found(visit, "There is no such page in the console.")
