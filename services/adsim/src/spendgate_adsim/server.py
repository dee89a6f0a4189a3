"""The adsim process entrypoint: read settings once, build the app, serve it with uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from spendgate_adsim.app import create_app
from spendgate_adsim.settings import SettingsError, load_settings


def run(*, host: str, port: int, seed: int) -> None:
    """Serve adsim on host:port; exit with status 2 and one line on stderr when a setting is missing."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(2) from None
    app = create_app(
        seed=seed,
        read_token=settings.read_token.get_secret_value(),
        write_token=settings.write_token.get_secret_value(),
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
