"""`/console`: the web console — sign-in, the queue, a draft's two-step decision, the audit log, operations.

Every decision calls the core use cases in `spendgate_core.usecases.deciding` with channel "console", exactly
like REST, Slack and the CLI. Pages only present what core returns, and core errors become a banner
on the page (never a 500). Who is asking is settled before a handler runs (`console.web`: a Redis
session, and for every POST the session's CSRF token and the origin checks). The bearer API under /v1
never looks at the console's cookie.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from spendgate_approvals.console import operations, presenters
from spendgate_approvals.console.csrf import cross_site_reason, safe_next, tokens_match
from spendgate_approvals.console.formatting import (
    KIND_LABELS,
    STATUS_LABELS,
    ago,
    countdown,
    signed_money,
    timestamp,
    until,
)
from spendgate_approvals.console.policy_report import policy_report
from spendgate_approvals.console.sessions import COOKIE_NAME, FlashLevel, PendingConfirm
from spendgate_approvals.console.web import (
    HANDLED,
    HERE,
    PREFIX,
    CrossSiteRefused,
    LoginRequired,
    PostDep,
    Visit,
    VisitDep,
    allowed_origins,
    build_config,
    config_of,
    current_session,
    problem_for,
    redirect,
    refused,
    render,
    sessions_for,
    set_cookie,
    to_login,
)
from spendgate_approvals.dependencies import QueueDep, ResourcesDep
from spendgate_approvals.schemas import RejectBody
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.contracts.ledger import LedgerCorruptError
from spendgate_core.domain.models import OPEN_STATUSES, Channel, Draft, DraftStatus
from spendgate_core.domain.platform import Account
from spendgate_core.errors import Conflict, InvalidInput, NotFound, SpendgateError
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.queries import visible_audit

CHANNEL: Channel = "console"
LOGIN_COOKIE = "spendgate_login"  # double-submit token of the sign-in form (there is no session yet)
QUEUE_LIMIT = 100
AUDIT_LIMIT = 100
MAX_ACCOUNT_ID = 128

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def install(app: FastAPI, settings: ApprovalsSettings) -> None:
    """Add the console to the app: its config, its two exception handlers, its static files and routes."""
    app.state.console = build_config(settings)
    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CrossSiteRefused, refused)
    # Before the router: its catch-all page would otherwise answer for /console/static/*.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)


# sign-in and sign-out -----------------------------------------------------------------------------------
NextQuery = Annotated[str, Query(alias="next")]


def _login_page(
    request: Request,
    *,
    next_path: str,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    config = config_of(request)
    nonce = secrets.token_urlsafe(32)
    context = {
        "login_csrf": nonce,
        "next": safe_next(next_path),
        "login_error": error,
        "notice": notice,
        "session_hours": int(config.session_ttl.total_seconds() // 3600),
    }
    response = render(request, "login.html", context, status_code=status_code)
    set_cookie(response, config, LOGIN_COOKIE, nonce, path=f"{PREFIX}/login", max_age=3600)
    return response


@router.get("/login")
def login_form(
    request: Request, resources: ResourcesDep, next_path: NextQuery = "", signed_out: str = ""
) -> Response:
    if current_session(request, resources, config_of(request)) is not None:
        return redirect(safe_next(next_path))
    notice = "You are signed out." if signed_out else None
    return _login_page(request, next_path=next_path, notice=notice)


@router.post("/login")
def login(
    request: Request,
    resources: ResourcesDep,
    token: Annotated[str, Form()] = "",
    login_csrf: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Exchange a human's token for a session. Agents are refused: they never approve anything."""
    config = config_of(request)
    reason = cross_site_reason(request.headers, allowed_origins=allowed_origins(request, config))
    if reason is None and not tokens_match(request.cookies.get(LOGIN_COOKIE, ""), login_csrf):
        reason = "the sign-in form expired or was not opened from this console"
    if reason is not None:
        return _login_page(
            request,
            next_path=next_path,
            status_code=403,
            error=f"Sign-in refused: {reason}. Please try again.",
        )
    principal = resources.principals.authenticate(token.strip())
    if principal is None:
        return _login_page(
            request,
            next_path=next_path,
            status_code=401,
            error="That token is not recognised. Paste the human token you were given "
            "(printed by `spendgate dev` or `spendgate principal add`).",
        )
    if not principal.is_human:
        return _login_page(
            request,
            next_path=next_path,
            status_code=403,
            error=f"{principal.name} is an AI agent. Agents read and draft through MCP; "
            "only people can sign in to the console and approve.",
        )
    sessions = sessions_for(resources, config)
    previous = sessions.load(request.cookies.get(COOKIE_NAME))
    if previous is not None:
        sessions.end(previous)  # a fresh id on every sign-in: no session fixation
    session_id, _ = sessions.start(principal)
    response = redirect(safe_next(next_path))
    set_cookie(
        response,
        config,
        COOKIE_NAME,
        session_id,
        path=PREFIX,
        max_age=int(config.session_ttl.total_seconds()),
    )
    response.delete_cookie(
        LOGIN_COOKIE, path=f"{PREFIX}/login", secure=config.secure_cookies, httponly=True, samesite="strict"
    )
    return response


@router.post("/logout")
def logout(visit: PostDep) -> Response:
    visit.sessions.end(visit.session)
    response = redirect(f"{PREFIX}/login?signed_out=1")
    response.delete_cookie(
        COOKIE_NAME, path=PREFIX, secure=visit.config.secure_cookies, httponly=True, samesite="strict"
    )
    return response


# the queue ----------------------------------------------------------------------------------------------
STATUS_OPTIONS = [
    (presenters.OPEN_FILTER, "Waiting (pending + armed)"),
    (presenters.ALL_FILTER, "All"),
    *((s.value, STATUS_LABELS[s]) for s in DraftStatus),
]


def _accounts(visit: Visit) -> list[Account]:
    try:
        return visit.deps.catalog.visible_to(visit.principal)
    except SpendgateError:
        return []  # the platform is unreachable: the filter offers no names, the drafts still show


@router.get("/")
def queue(
    visit: VisitDep,
    account: str = "",
    status: str = presenters.OPEN_FILTER,
) -> Response:
    """Drafts the human may see, newest first; by default those still waiting for a decision."""
    account = account[:MAX_ACCOUNT_ID]  # an over-long id matches nothing anyway; keep it out of Redis keys
    if status not in presenters.STATUS_FILTERS:
        status = presenters.OPEN_FILTER
    drafts = presenters.queue_drafts(
        visit.deps,
        visit.principal,
        account_id=account or None,
        statuses=presenters.STATUS_FILTERS[status],
        limit=QUEUE_LIMIT,
    )
    now = visit.deps.clock.now()
    context = {
        "nav": "queue",
        "rows": [presenters.queue_row(d, now=now) for d in drafts],
        "accounts": _accounts(visit),
        "account": account,
        "status": status,
        "status_options": STATUS_OPTIONS,
    }
    return render(visit.request, "queue.html", context, visit=visit)


# one draft ----------------------------------------------------------------------------------------------
def _outcome(draft: Draft) -> list[str]:
    """Plain sentences on what happened to a decided draft."""
    lines = []
    when = timestamp(draft.decided_at) if draft.decided_at else None
    if draft.status is DraftStatus.REJECTED:
        lines.append(f"Rejected by {draft.decided_by} at {when}: “{draft.decision_reason}”")
    elif draft.status is DraftStatus.WITHDRAWN:
        lines.append(f"Withdrawn by {draft.decided_by} at {when}: “{draft.decision_reason}”")
    elif draft.status is DraftStatus.EXPIRED:
        lines.append(f"Expired at {timestamp(draft.expires_at)} without a decision.")
    elif draft.status in {DraftStatus.APPROVED, DraftStatus.APPLYING} and draft.approved_at:
        lines.append(f"Approved at {timestamp(draft.approved_at)}; the executor is pushing it live.")
    if draft.applied_at and draft.status in {DraftStatus.APPLIED, DraftStatus.ROLLED_BACK}:
        lines.append(f"Applied at {timestamp(draft.applied_at)}.")
    if draft.error:
        lines.append(f"Platform said: {draft.error}")
    return lines


def _draft_page(
    visit: Visit, draft_id: str, *, problem: Exception | None = None, reject_reason: str = ""
) -> Response:
    deps, principal = visit.deps, visit.principal
    status_code, banner = problem_for(problem) if problem is not None else (200, None)
    try:
        draft = approval.visible_draft(deps, principal, draft_id)
    except NotFound:
        return _not_found(visit, f"There is no draft {draft_id[:64]!r} that you can see.")
    now = deps.clock.now()
    limits = deps.limits(draft.account_id, draft.currency)
    used = deps.store.envelope_used(draft.account_id, now=now)
    pending = visit.sessions.pending_confirm(visit.session, draft.id)
    control = presenters.decision_control(draft, principal=principal, pending=pending, now=now)
    changes = presenters.change_rows(draft, presenters.live_campaigns(deps, draft))
    checked = draft.status in OPEN_STATUSES | {DraftStatus.APPROVED}
    context = {
        "draft": draft,
        "kind": KIND_LABELS[draft.kind],
        "status_label": STATUS_LABELS[draft.status],
        "impact": signed_money(draft.impact.daily_budget_delta, draft.currency),
        "created": ago(draft.created_at, now),
        "created_at": timestamp(draft.created_at),
        "expires": until(draft.expires_at, now),
        "is_open": draft.status in OPEN_STATUSES,
        "approvals_count": len(draft.approvals),
        "changes": changes,
        "moved": any(row.moved for row in changes),
        "envelope": presenters.envelope(draft, limits=limits, used=used),
        "policy": policy_report(draft, limits=limits, envelope_used=used, now=now) if checked else None,
        "approvals": presenters.approval_rows(draft),
        "arms": presenters.arm_rows(draft, now=now),
        "control": control,
        "countdown": countdown(control.seconds_left),
        "outcome": _outcome(draft),
        "circuit": operations.circuit_state(visit.resources.redis, draft.account_id, now=now),
        "problem": banner,
        "reject_open": bool(reject_reason) or isinstance(problem, InvalidInput),
        "reject_reason": reject_reason,
    }
    return render(visit.request, "draft.html", context, visit=visit, status_code=status_code)


@router.get("/drafts/{draft_id}")
def draft_page(draft_id: str, visit: VisitDep) -> Response:
    try:
        return _draft_page(visit, draft_id)
    except HANDLED as exc:
        return _trouble(visit, exc)


def _decide(
    visit: Visit, draft_id: str, act: Callable[[], tuple[str, FlashLevel, str]], **page: Any
) -> Response:
    """Run one decision; on success flash its message and redirect, else show the draft with the problem."""
    try:
        target, level, text = act()
    except HANDLED as exc:
        try:
            return _draft_page(visit, draft_id, problem=exc, **page)
        except HANDLED as again:
            return _trouble(visit, again)
    visit.sessions.flash(visit.session, level, text)
    return redirect(target)


def _draft_href(draft_id: str) -> str:
    return f"{PREFIX}/drafts/{quote(draft_id, safe='')}"


@router.post("/drafts/{draft_id}/arm")
def arm(draft_id: str, visit: PostDep, version: Annotated[str, Form()] = "") -> Response:
    """Step one. The form names the version the human looked at; a changed draft is refused (412)."""

    def act() -> tuple[str, FlashLevel, str]:
        armed = approval.arm(
            deps=visit.deps,
            principal=visit.principal,
            draft_id=draft_id,
            if_match=f'"{version}"' if version else None,
            channel=CHANNEL,
        )
        pending = PendingConfirm(token=armed.confirm_token, confirm_before=armed.confirm_before)
        visit.sessions.keep_confirm(visit.session, draft_id, pending)
        window = countdown((armed.confirm_before - visit.deps.clock.now()).total_seconds())
        return (
            _draft_href(draft_id),
            "info",
            f"Step 1 done. Check the change once more, then confirm within {window}.",
        )

    return _decide(visit, draft_id, act)


@router.post("/drafts/{draft_id}/confirm")
def confirm(draft_id: str, visit: PostDep, queue: QueueDep) -> Response:
    """Step two, with the confirm token this session kept from step one (it never reached the browser)."""

    def act() -> tuple[str, FlashLevel, str]:
        pending = visit.sessions.pending_confirm(visit.session, draft_id)
        if pending is None:
            raise Conflict("there is no approval of yours to confirm here; press “Approve & push live” first")
        try:
            draft = approval.confirm(
                deps=visit.deps,
                principal=visit.principal,
                draft_id=draft_id,
                confirm_token=pending.token,
                channel=CHANNEL,
                queue=queue,
            )
        except Conflict:
            visit.sessions.drop_confirm(visit.session, draft_id)  # the arm lapsed or the draft moved on
            raise
        visit.sessions.drop_confirm(visit.session, draft_id)
        if draft.status is DraftStatus.APPROVED:
            return _draft_href(draft_id), "ok", "Approved. The change is queued to go live."
        left = draft.required_approvals - len(draft.approvals)
        return (
            _draft_href(draft_id),
            "ok",
            f"Your approval is recorded. It needs {left} more from another approver.",
        )

    return _decide(visit, draft_id, act)


@router.post("/drafts/{draft_id}/reject")
def reject(draft_id: str, visit: PostDep, reason: Annotated[str, Form()] = "") -> Response:
    def act() -> tuple[str, FlashLevel, str]:
        try:
            body = RejectBody(reason=reason)
        except ValidationError:
            raise InvalidInput(
                "give a reason for rejecting (1 to 2000 characters, no control characters)"
            ) from None
        approval.reject(
            deps=visit.deps, principal=visit.principal, draft_id=draft_id, reason=body.reason, channel=CHANNEL
        )
        return _draft_href(draft_id), "ok", "Rejected. The proposer will see your reason."

    return _decide(visit, draft_id, act, reject_reason=reason[:2000])


@router.post("/drafts/{draft_id}/rollback")
def rollback(draft_id: str, visit: PostDep) -> Response:
    """Stage a rollback draft and go to it: it needs its own two-step approval, by someone else."""

    def act() -> tuple[str, FlashLevel, str]:
        staged = anyio.from_thread.run(
            partial(
                approval.request_rollback,
                deps=visit.deps,
                io=visit.resources.drafting,
                principal=visit.principal,
                draft_id=draft_id,
            )
        )
        return (
            _draft_href(staged.id),
            "info",
            "Rollback draft created. It needs its own two-step approval by a different approver.",
        )

    return _decide(visit, draft_id, act)


# audit and operations -----------------------------------------------------------------------------------
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
        "accounts": _accounts(visit),
        "account": account,
    }
    return render(visit.request, "audit.html", context, visit=visit)


@router.get("/ops")
def ops(visit: VisitDep) -> Response:
    """Circuit breakers of the accounts the human sees, queue depths, and recent webhook deliveries."""
    client = visit.resources.redis
    now = visit.deps.clock.now()
    visible = {a.id for a in _accounts(visit)}
    visible |= {a for a in operations.tracked_accounts(client) if visit.principal.sees(a)}
    deliveries = [
        d for d in operations.deliveries(client) if d.draft_id is None or _sees_draft(visit, d.draft_id)
    ]
    context = {
        "nav": "ops",
        "circuits": [operations.circuit_state(client, a, now=now) for a in sorted(visible)],
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


# everything else ----------------------------------------------------------------------------------------
def _not_found(visit: Visit, message: str) -> Response:
    context = {
        "heading": "Not found",
        "message": message,
        "back_href": f"{PREFIX}/",
        "back_label": "Back to the drafts",
    }
    return render(visit.request, "error.html", context, visit=visit, status_code=404)


def _trouble(visit: Visit, exc: Exception) -> Response:
    status_code, banner = problem_for(exc)
    context = {
        "heading": banner.title,
        "message": banner.message,
        "back_href": f"{PREFIX}/",
        "back_label": "Back to the drafts",
    }
    return render(visit.request, "error.html", context, visit=visit, status_code=status_code, flash=False)


@router.get("/{path:path}")
def unknown_page(path: str, visit: VisitDep) -> Response:
    return _not_found(visit, "There is no such page in the console.")
