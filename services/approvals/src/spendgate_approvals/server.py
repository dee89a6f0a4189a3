"""The approval service's entrypoint: settings once, bad config refused in one line, served by uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_approvals.wiring import check_config
from spendgate_core.errors import ConfigError
from spendgate_core.logs import configure_logging
from spendgate_core.metrics import prime as prime_metrics
from spendgate_core.runtime.settings import load_settings
from spendgate_core.runtime.tuning import settle_after_startup


def run(*, host: str, port: int) -> None:
    """Serve the approval API on host:port; exit 2 with one line on stderr when configuration is bad.

    Behind a proxy, uvicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (default 127.0.0.1).
    """
    configure_logging("approvals")
    try:
        settings = load_settings(ApprovalsSettings)
        prime_metrics(platform=settings.platform)
        check_config(settings)
        app = create_app(settings)
    except ConfigError as exc:
        sys.stderr.write(f"spendgate approvals: {exc.message}\n")
        raise SystemExit(2) from None
    settle_after_startup()
    uvicorn.run(
        app, host=host, port=port, access_log=False, proxy_headers=True, log_level="info", log_config=None
    )
