"""The outbound-event settings and their validated form (subscribers, signing secret, retry budget)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from standardwebhooks import Webhook

from spendgate_core.adapters.duework import Backoff
from spendgate_core.contracts.webhooks import checked_webhook_secret
from spendgate_core.errors import ConfigError


class EventSettings(BaseSettings):
    """The outbound-event knobs, read by the worker entrypoint."""

    model_config = SettingsConfigDict(env_prefix="SPENDGATE_", extra="ignore", frozen=True)

    event_subscribers: str = Field(default="", description="comma-separated subscriber URLs (http/https)")
    event_secret: SecretStr | None = Field(default=None, description="Standard Webhooks secret, whsec_…")
    event_max_attempts: int = Field(default=10, ge=1, le=50, description="attempts per delivery")
    event_retry_base_seconds: float = Field(default=10.0, gt=0, le=3600, description="first retry delay")
    event_retry_max_seconds: float = Field(default=1800.0, gt=0, le=86400, description="cap on a retry delay")
    event_timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="per POST")
    event_lease_seconds: float = Field(
        default=300.0, gt=0, le=3600, description="a delivery job not finished after this is enqueued again"
    )


@dataclass(frozen=True)
class EventConfig:
    subscribers: tuple[str, ...]
    webhook: Webhook | None
    backoff: Backoff
    max_attempts: int
    timeout_seconds: float
    lease_seconds: float


def event_config(settings: EventSettings) -> EventConfig:
    """Validated outbound-event configuration; ConfigError with one line when unusable."""
    urls: list[str] = []
    for raw in settings.event_subscribers.split(","):
        url = raw.strip()
        if not url:
            continue
        parsed = httpx.URL(url) if url.startswith(("http://", "https://")) and " " not in url else None
        if parsed is None or not parsed.host:
            raise ConfigError(f"SPENDGATE_EVENT_SUBSCRIBERS: {url!r} is not an http(s) URL")
        if url not in urls:
            urls.append(url)
    webhook = None
    if settings.event_secret is not None and settings.event_secret.get_secret_value().strip():
        secret = settings.event_secret.get_secret_value().strip()
        webhook = Webhook(checked_webhook_secret(secret, setting="SPENDGATE_EVENT_SECRET"))
    if urls and webhook is None:
        raise ConfigError(
            "SPENDGATE_EVENT_SUBSCRIBERS is set but SPENDGATE_EVENT_SECRET is not; events are signed"
        )
    return EventConfig(
        subscribers=tuple(urls),
        webhook=webhook,
        backoff=Backoff(
            base_seconds=settings.event_retry_base_seconds, max_seconds=settings.event_retry_max_seconds
        ),
        max_attempts=settings.event_max_attempts,
        timeout_seconds=settings.event_timeout_seconds,
        lease_seconds=settings.event_lease_seconds,
    )
