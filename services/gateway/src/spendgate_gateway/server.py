"""The gateway's entrypoint: build settings once, then serve the MCP app with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from spendgate_core.contracts.signing import LedgerKeyError
from spendgate_core.errors import ConfigError
from spendgate_core.logs import configure_logging
from spendgate_core.metrics import prime as prime_metrics
from spendgate_core.runtime.settings import load_settings
from spendgate_core.runtime.tuning import settle_after_startup
from spendgate_gateway.app import create_app
from spendgate_gateway.settings import GatewaySettings


def run(*, host: str, port: int) -> None:
    """Serve `/mcp`, `/healthz`, `/readyz` and `/metrics` on host:port; exit 2 on bad configuration."""
    configure_logging("gateway")
    try:
        settings = load_settings(GatewaySettings)
        prime_metrics(platform=settings.platform)
        app = create_app(settings)
    except ConfigError as exc:
        sys.stderr.write(f"spendgate gateway: {exc.message}\n")
        raise SystemExit(2) from None
    except LedgerKeyError as exc:
        sys.stderr.write(f"spendgate gateway: {exc}\n")
        raise SystemExit(2) from None
    settle_after_startup()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, lifespan="on", log_config=None)
