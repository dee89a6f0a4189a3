"""Configuration shared by every service (README, "Configuration reference"), built once in each
entrypoint and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, RedisDsn, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from spendgate_core.adapters.keys import check_namespace
from spendgate_core.errors import ConfigError


class RedisSettings(BaseSettings):
    """Where spendgate's state is: every service, and the CLI's audit commands, read these two."""

    model_config = SettingsConfigDict(env_prefix="SPENDGATE_", extra="ignore", frozen=True)

    redis_url: RedisDsn = Field(
        default=RedisDsn("redis://127.0.0.1:6379/0"), description="Redis holding drafts, ledger and queues"
    )
    redis_namespace: str = Field(
        default="sg",
        description="first part of every spendgate key; a hash tag such as {sg} keeps them in one Redis "
        "Cluster slot (RQ's own keys stay outside it)",
    )

    @field_validator("redis_namespace")
    @classmethod
    def _a_namespace(cls, value: str) -> str:
        return check_namespace(value)


class CoreSettings(RedisSettings):
    principals_file: Path = Field(description="TOML file of principals (tokens stored as SHA-256)")
    policy_file: Path | None = Field(
        default=None, description="TOML policy; the documented defaults when unset"
    )
    platform: Literal["adsim"] = Field(default="adsim", description="the upstream ad platform")
    adsim_url: str = Field(default="http://127.0.0.1:8090", description="base URL of adsim")
    ledger_key_file: Path = Field(description="Ed25519 private key (PEM) that signs ledger entries")
    public_url: str = Field(
        default="http://127.0.0.1:8081", description="public base URL of the approval service (console links)"
    )


class ReaderSettings(CoreSettings):
    """Services that read the platform hold the read token only."""

    adsim_read_token: SecretStr = Field(description="adsim token that can read, never write")


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment, turning validation errors into one clear ConfigError line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "SPENDGATE_" + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}: {error['msg'].lower()}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
