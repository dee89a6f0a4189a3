"""The executor's configuration: the core settings plus the write token and the apply tuning knobs."""

from __future__ import annotations

from pydantic import Field, SecretStr

from spendgate_core.runtime.settings import CoreSettings


class ExecutorSettings(CoreSettings):
    """Everything a worker needs. It holds the write token only: adsim accepts it for reads as well."""

    adsim_write_token: SecretStr = Field(description="adsim token that may write; given to the executor only")
    metrics_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - Prometheus scrapes the pod/container address, not loopback
        description="address the worker's /metrics and /healthz listen on",
    )
    apply_lease_seconds: float = Field(
        default=6.0,
        ge=1.0,
        le=300.0,
        description="per-draft lease; a crashed worker's draft is resumed about this long after it died",
    )
    sweep_interval_seconds: float = Field(
        default=1.0, gt=0.0, le=60.0, description="how often the sweep runs (one worker at a time)"
    )
    retry_max_attempts: int = Field(
        default=8, ge=1, le=100, description="attempts per draft before it ends apply_failed"
    )
    retry_base_seconds: float = Field(
        default=0.5, gt=0.0, le=60.0, description="first backoff delay; doubles per attempt, with jitter"
    )
    retry_max_seconds: float = Field(
        default=60.0, gt=0.0, le=3600.0, description="cap on the backoff delay (Retry-After may ask for more)"
    )
    circuit_failure_threshold: int = Field(
        default=5, ge=1, le=1000, description="consecutive upstream failures that open an account's circuit"
    )
    circuit_cooldown_seconds: float = Field(
        default=30.0, gt=0.0, le=3600.0, description="how long an open circuit pauses applies before a probe"
    )
