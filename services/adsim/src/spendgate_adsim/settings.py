"""adsim's settings from the environment (prefix SPENDGATE_ADSIM_), read once by the entrypoint."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "SPENDGATE_ADSIM_"


class SettingsError(Exception):
    """The environment is missing a required setting or has a malformed one; the message is one line."""


class AdsimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    read_token: SecretStr = Field(
        min_length=1, description="Bearer token that may read (given to the gateway)."
    )
    write_token: SecretStr = Field(
        min_length=1, description="Bearer token that may read and write (given to the executor only)."
    )


def load_settings() -> AdsimSettings:
    """Read the settings from the environment, or raise `SettingsError` naming the variables at fault."""
    try:
        return AdsimSettings()  # fields come from the environment
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX + "*"
            problems.append(
                f"{variable} is not set" if error["type"] == "missing" else f"{variable} is malformed"
            )
        raise SettingsError("adsim cannot start: " + "; ".join(problems) + ".") from None
