"""The approval service's FastAPI app: routers, error translation, middleware, a lifespan that wires clients.

Slack, webhooks and the console (issue 4) join as further routers on the same `Resources`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from spendgate_approvals.errors import install_error_handlers
from spendgate_approvals.middleware import BodySizeLimit, CatchAll
from spendgate_approvals.observability import LedgerWatch, RequestIds
from spendgate_approvals.routers import audit, drafts, ops, slack, webhooks
from spendgate_approvals.routers.console import install as install_console
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_approvals.wiring import Resources, open_resources
from spendgate_core.domain.clock import Clock
from spendgate_core.domain.principals import PrincipalDirectory
from spendgate_core.usecases.deps import CoreDeps


def create_app(
    settings: ApprovalsSettings, *, deps: CoreDeps | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app. Reads the principals file now (ConfigError if unusable); opens clients in the lifespan.

    `deps` replaces the core wiring built from `settings`; `clock` (timezone-aware UTC) drives arm
    windows and expiry when the core is wired here — tests pass a movable one.
    """
    principals = PrincipalDirectory(settings.principals_file)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Resources]]:
        with open_resources(settings, principals=principals, deps=deps, clock=clock) as resources:
            # The Slack consumer runs only where Slack is configured; it stops before its clients close.
            notifier = resources.slack.notifier if resources.slack else None
            if notifier is not None:
                notifier.start()
            watch = LedgerWatch(resources.deps.ledger)
            watch.start()
            try:
                yield {"resources": resources}
            finally:
                watch.stop()
                if notifier is not None:
                    notifier.stop()
                await resources.drafting.drain()
                await resources.async_redis.aclose()

    app = FastAPI(
        title="spendgate approvals",
        summary="Read, arm, confirm and reject drafted spend changes; humans only.",
        version="1",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # add_middleware wraps what is already there: CatchAll ends up outermost of the two.
    app.add_middleware(BodySizeLimit)
    app.add_middleware(CatchAll)
    app.add_middleware(RequestIds)  # outermost: even the catch-all's 500 carries the request id
    app.include_router(drafts.router)
    app.include_router(audit.router)
    app.include_router(ops.router)
    app.include_router(slack.router)
    app.include_router(webhooks.router)
    install_console(app, settings)
    return app
