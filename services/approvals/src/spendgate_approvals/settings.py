"""Settings of the approval service, read once by its entrypoint (README, "Configuration reference")."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator

from spendgate_core.runtime.settings import ReaderSettings


class ApprovalsSettings(ReaderSettings):
    """The shared settings plus the platform read token (rollbacks read the live value).

    Slack and the signed decision webhook are optional: each is on when its secret is set (Slack needs
    its signing secret, bot token and channel together; `wiring.check_config` says which is missing).
    """

    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Slack app signing secret; verifies /v1/slack/interactions (v0 scheme)"
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, description="Slack bot token (xoxb-…, scope chat:write) that posts and updates messages"
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="base URL of the Slack Web API (a fake one in tests)"
    )
    slack_channel: str | None = Field(default=None, description="channel id (or #name) drafts are posted to")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Standard Webhooks secret (whsec_…) of POST /v1/webhooks/decisions"
    )
    console_session_hours: int = Field(
        default=8, ge=1, le=24 * 7, description="how long a web console sign-in lasts, in hours (fixed)"
    )

    @field_validator(
        "slack_signing_secret", "slack_bot_token", "slack_channel", "webhook_secret", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """`SPENDGATE_SLACK_CHANNEL=` (set but empty, as compose files often leave it) means off."""
        return None if isinstance(value, str) and not value.strip() else value
