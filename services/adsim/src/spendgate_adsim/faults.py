"""Fault injection for /v1: latency, a token-bucket rate limit, injected errors, lost write answers."""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from spendgate_adsim.errors import InjectedFault, RateLimited

Scope = Literal["all", "reads", "writes"]


class FaultSettings(BaseModel):
    """The active faults, as `POST /_sim/faults` takes them; `{}` means none."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000, description="Delay added before each request.")
    error_rate: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    error_status: int = Field(default=503, description="429 or 500..599, answered at error_rate.")
    rate_limit_per_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    drop_after_write_rate: float = Field(
        default=0.0, ge=0, le=1, allow_inf_nan=False, description="Apply a PATCH but answer 504."
    )
    scope: Scope = "all"

    @field_validator("error_status")
    @classmethod
    def _error_status(cls, status: int) -> int:
        if status != 429 and not 500 <= status <= 599:
            raise ValueError("error_status must be 429 or between 500 and 599")
        return status


class Faults:
    """Applies the active `FaultSettings` to /v1 requests; sampling uses a seeded RNG, never global random."""

    def __init__(self, *, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._settings = FaultSettings()
            self._rng = random.Random(f"adsim:{self._seed}:faults")
            self._tokens = 0.0
            self._refilled_at = time.monotonic()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> FaultSettings:
        """Replace the active faults; the rate-limit bucket starts full."""
        with self._lock:
            self._settings = settings
            self._tokens = _capacity(settings.rate_limit_per_s)
            self._refilled_at = time.monotonic()
            return settings

    async def before_request(self, *, write: bool) -> None:
        """Latency first, then the rate limit, then error_rate (raising the error it picks)."""
        settings = self._settings
        if not _in_scope(settings.scope, write=write):
            return
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        with self._lock:
            if settings is not self._settings:  # reconfigured while we slept: judge by the new faults
                settings = self._settings
                if not _in_scope(settings.scope, write=write):
                    return
            if settings.rate_limit_per_s is not None:
                self._take_token(settings.rate_limit_per_s)
            if settings.error_rate and self._rng.random() < settings.error_rate:
                raise InjectedFault(settings.error_status)

    def drop_write_answer(self) -> bool:
        """Whether to lose the answer to a PATCH that was just applied."""
        settings = self._settings
        if not settings.drop_after_write_rate or not _in_scope(settings.scope, write=True):
            return False
        with self._lock:
            return self._rng.random() < settings.drop_after_write_rate

    def _take_token(self, rate: float) -> None:
        now = time.monotonic()
        self._tokens = min(_capacity(rate), self._tokens + (now - self._refilled_at) * rate)
        self._refilled_at = now
        if self._tokens < 1:
            retry_after = max(1, math.ceil((1 - self._tokens) / rate))
            raise RateLimited(
                f"Rate limit of {rate:g} requests per second exceeded; retry in {retry_after} s.",
                retry_after=retry_after,
            )
        self._tokens -= 1


def _capacity(rate: float | None) -> float:
    """Bucket size: one second's worth of requests, at least one."""
    return max(1.0, rate or 0.0)


def _in_scope(scope: Scope, *, write: bool) -> bool:
    return scope == "all" or (scope == "writes") == write
