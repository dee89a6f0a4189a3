"""The gateway's configuration: the shared reader settings plus the read cache; never a write token."""

from __future__ import annotations

from pydantic import Field

from spendgate_core.runtime.settings import ReaderSettings


class GatewaySettings(ReaderSettings):
    """Built once by `server.run` from SPENDGATE_* variables (README, "Configuration reference") and
    passed down."""

    gateway_cache_ttl_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="how long read tools reuse a platform answer; bounds the platform request rate (0 = off)",
    )
