"""The console's web plumbing: its config, who is asking (session and CSRF dependencies), and responses.

Routes declare `VisitDep` (a signed-in human) or `PostDep` (a signed-in human's form, its CSRF token and
origin checked) and never see a request without them: no session raises `LoginRequired` (a redirect to
sign in), a failed check raises `CrossSiteRefused` (a 403 page), both before any handler code runs.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
import redis
from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from spendgate_approvals.console.csrf import cross_site_reason, origin_of, tokens_match
from spendgate_approvals.console.sessions import COOKIE_NAME, Session, SessionStore
from spendgate_approvals.dependencies import ResourcesDep
from spendgate_approvals.errors import status_for
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_approvals.wiring import Resources
from spendgate_core.adapters.ledger import LedgerContentionError
from spendgate_core.contracts.ledger import LedgerCorruptError
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyViolation,
    PreconditionFailed,
    SpendgateError,
    TransientUpstreamError,
)
from spendgate_core.usecases.deps import CoreDeps

log = logging.getLogger(__name__)

PREFIX = "/console"
HERE = Path(__file__).resolve().parent

# Pages hold drafts and tokens: never cached, never framed, scripts and styles from this origin only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# configuration and wiring -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsoleConfig:
    templates: Jinja2Templates
    session_ttl: timedelta
    secure_cookies: bool
    public_origin: str | None


def build_config(settings: ApprovalsSettings) -> ConsoleConfig:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return ConsoleConfig(
        templates=Jinja2Templates(env=env),
        session_ttl=timedelta(hours=settings.console_session_hours),
        secure_cookies=settings.public_url.lower().startswith("https://"),
        public_origin=origin_of(settings.public_url),
    )


def config_of(request: Request) -> ConsoleConfig:
    config: ConsoleConfig = request.app.state.console
    return config


def sessions_for(resources: Resources, config: ConsoleConfig) -> SessionStore:
    return SessionStore(
        resources.redis, clock=resources.deps.clock, ttl=config.session_ttl, keys=resources.keys
    )


def allowed_origins(request: Request, config: ConsoleConfig) -> set[str]:
    """This console's origin as configured, and as the browser addressed it (Host), for the Origin check."""
    own = origin_of(str(request.base_url))
    return {o for o in (config.public_origin, own) if o}


# who is asking ------------------------------------------------------------------------------------------
class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CrossSiteRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Visit:
    """A signed-in human's request: who they are, their session, and what the pages need."""

    request: Request
    resources: Resources
    config: ConsoleConfig
    sessions: SessionStore
    session: Session
    principal: Principal

    @property
    def deps(self) -> CoreDeps:
        return self.resources.deps


def current_session(
    request: Request, resources: Resources, config: ConsoleConfig
) -> tuple[Session, Principal] | None:
    """The live session of this request and its human, or None.

    The principal is looked up again on every request, so removing a human from the principals file
    or rotating their token ends their console sessions at once.
    """
    sessions = sessions_for(resources, config)
    session = sessions.load(request.cookies.get(COOKIE_NAME))
    if session is None:
        return None
    principal = resources.principals.by_name(session.principal)
    if (
        principal is None
        or not principal.is_human
        or not hmac.compare_digest(principal.token_sha256, session.token_sha256)
    ):
        sessions.end(session)
        return None
    return session, principal


def _visit(request: Request, resources: ResourcesDep) -> Visit:
    config = config_of(request)
    current = current_session(request, resources, config)
    if current is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(here if request.method == "GET" else f"{PREFIX}/")
    session, principal = current
    return Visit(request, resources, config, sessions_for(resources, config), session, principal)


VisitDep = Annotated[Visit, Depends(_visit)]


def _checked_post(visit: VisitDep, csrf_token: Annotated[str, Form()] = "") -> Visit:
    """A signed-in human's form POST that this console served: origin checks, then the session's token."""
    reason = cross_site_reason(
        visit.request.headers, allowed_origins=allowed_origins(visit.request, visit.config)
    )
    if reason is None and not tokens_match(visit.session.csrf_token, csrf_token):
        reason = "the form did not carry this session's security token"
    if reason is not None:
        raise CrossSiteRefused(reason)
    return visit


PostDep = Annotated[Visit, Depends(_checked_post)]


# responses ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    title: str
    message: str


_TITLES: list[tuple[type[Exception], str]] = [
    (PolicyViolation, "Policy refuses this"),
    (PreconditionFailed, "The draft changed while you were looking"),
    (Conflict, "Not possible right now"),
    (Forbidden, "Not allowed"),
    (NotFound, "Not found"),
    (InvalidInput, "Check your input"),
    (TransientUpstreamError, "The ad platform is unavailable"),
]

# What a page can show instead of failing: core's errors and trouble with storage.
HANDLED = (SpendgateError, LedgerCorruptError, LedgerContentionError, redis.RedisError)


def problem_for(exc: Exception) -> tuple[int, Problem]:
    """The status and the banner for an error met while serving a console page."""
    if isinstance(exc, ConfigError):
        log.error("configuration problem while serving the console: %s", exc.message)
        return 500, Problem(
            "Something is misconfigured", "The error is logged; ask the operator to check it."
        )
    if isinstance(exc, SpendgateError):
        title = next((t for cls, t in _TITLES if isinstance(exc, cls)), "That did not work")
        return status_for(exc), Problem(title, exc.message)
    if isinstance(exc, LedgerCorruptError):
        log.error("ledger storage is corrupt: %s", exc)
        return 500, Problem("The audit ledger is damaged", f"{exc}")
    log.warning("storage unavailable for the console: %s: %s", type(exc).__name__, exc)
    return 503, Problem("Storage is busy or unreachable", "Nothing was decided. Try again in a moment.")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    visit: Visit | None = None,
    status_code: int = 200,
    flash: bool = True,
) -> Response:
    base: dict[str, Any] = {"principal": None, "csrf_token": "", "flash": None, "problem": None, "nav": None}
    if visit is not None:
        base["principal"] = visit.principal
        base["csrf_token"] = visit.session.csrf_token
        if flash:
            base["flash"] = visit.sessions.take_flash(visit.session)
    return config_of(request).templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code, headers=SECURITY_HEADERS
    )


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def set_cookie(
    response: Response, config: ConsoleConfig, name: str, value: str, *, path: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        secure=config.secure_cookies,
        httponly=True,
        samesite="strict",
    )


async def to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"{PREFIX}/login?next={quote(exc.next_path, safe='')}"
    headers = request.headers
    if (
        request.method == "GET"
        and headers.get("sec-fetch-site") == "cross-site"
        and headers.get("sec-fetch-mode") == "navigate"
    ):
        # A link from Slack or e-mail: the browser withheld the SameSite=Strict cookie on this cross-site
        # navigation. Reload once from our own page, where it is sent; without a session that reload
        # (now same-origin) lands on the sign-in page.
        return render(request, "reload.html", {"target": exc.next_path})
    return redirect(target)


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CrossSiteRefused)
    log.warning("console refused a %s %s: %s", request.method, request.url.path, exc.reason)
    return render(
        request,
        "error.html",
        {
            "heading": "Request refused",
            "message": f"This form was refused because {exc.reason}. Nothing was changed. "
            "Reload the page and try again.",
            "back_href": f"{PREFIX}/",
            "back_label": "Back to the drafts",
        },
        status_code=403,
    )
