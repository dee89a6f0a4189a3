"""The console's sign-in and sign-out: a human's token for a session (agents are refused)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from spendgate_approvals.console.csrf import cross_site_reason, safe_next, tokens_match
from spendgate_approvals.console.sessions import COOKIE_NAME
from spendgate_approvals.console.web import (
    PREFIX,
    PostDep,
    allowed_origins,
    config_of,
    current_session,
    redirect,
    render,
    sessions_for,
    set_cookie,
)
from spendgate_approvals.dependencies import ResourcesDep

LOGIN_COOKIE = "spendgate_login"  # double-submit token of the sign-in form (there is no session yet)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


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
