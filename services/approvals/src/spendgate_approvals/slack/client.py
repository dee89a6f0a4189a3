"""Slack's two wire contracts: verifying its signed requests (v0) and calling its Web API (chat.*).

Both wrap `slack_sdk`: `SignatureVerifier` (with our clock, so the 5-minute window is testable) and
`WebClient` pointed at `SPENDGATE_SLACK_API_URL`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from spendgate_approvals.settings import ApprovalsSettings
from spendgate_core.domain.clock import Clock
from spendgate_core.errors import ConfigError

# What a failed Web API call raises: Slack's `ok: false` (SlackApiError) or the network (URLError, timeouts).
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackClientError, OSError)
API_TIMEOUT_SECONDS = 5  # bounded, so a slow Slack never holds a consumer or a request thread for long
SIGNATURE_WINDOW_SECONDS = 300  # slack_sdk's window, both directions


@dataclass(frozen=True)
class SlackConfig:
    signing_secret: str
    bot_token: str
    api_url: str
    channel: str


def slack_config(settings: ApprovalsSettings) -> SlackConfig | None:
    """Slack's settings, None when Slack is off; ConfigError naming what is missing when half-configured."""
    values = {
        "SPENDGATE_SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "SPENDGATE_SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SPENDGATE_SLACK_CHANNEL": settings.slack_channel,
    }
    missing = [name for name, value in values.items() if value is None]
    if len(missing) == len(values):
        return None
    if missing:
        raise ConfigError(f"Slack is half-configured: set {', '.join(missing)} too (or unset all three)")
    assert settings.slack_signing_secret and settings.slack_bot_token and settings.slack_channel
    api_url = settings.slack_api_url.strip()
    if not api_url.startswith(("https://", "http://")):
        raise ConfigError(f"SPENDGATE_SLACK_API_URL must be an http(s) URL, not {api_url!r}")
    return SlackConfig(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        bot_token=settings.slack_bot_token.get_secret_value(),
        api_url=api_url.rstrip("/") + "/",  # WebClient appends the method name to the base URL
        channel=settings.slack_channel,
    )


class _ClockAdapter(SlackClock):
    """slack_sdk wants epoch seconds; ours gives aware datetimes (and tests move it)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


class RequestVerifier:
    """Slack's v0 request signature over the raw body, within 5 minutes of our clock."""

    def __init__(self, signing_secret: str, *, clock: Clock) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_ClockAdapter(clock))

    def is_valid(self, body: bytes, headers: Mapping[str, str]) -> bool:
        try:
            return bool(
                self._verifier.is_valid(
                    body=body,
                    timestamp=headers.get("x-slack-request-timestamp"),
                    signature=headers.get("x-slack-signature"),
                )
            )
        except Exception:
            # slack_sdk parses the timestamp with int() and decodes the body as UTF-8 unguarded: a
            # hostile request must be a 401, never a 500, whatever it trips on.
            return False


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


class SlackApi:
    """The three Web API methods spendgate uses (scope `chat:write`)."""

    def __init__(self, config: SlackConfig) -> None:
        self.channel = config.channel
        self._client = WebClient(
            token=config.bot_token,
            base_url=config.api_url,
            timeout=API_TIMEOUT_SECONDS,
            retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)],
        )

    def post(self, *, text: str, blocks: Sequence[dict[str, Any]]) -> MessageRef:
        answer = self._client.chat_postMessage(
            channel=self.channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
        )
        return MessageRef(channel=str(answer["channel"]), ts=str(answer["ts"]))

    def update(self, ref: MessageRef, *, text: str, blocks: Sequence[dict[str, Any]]) -> None:
        self._client.chat_update(channel=ref.channel, ts=ref.ts, text=text, blocks=blocks)

    def tell(self, *, channel: str, user: str, text: str) -> None:
        """A message only `user` sees, in `channel` (refusals and hints after a click)."""
        self._client.chat_postEphemeral(channel=channel, user=user, text=text)
