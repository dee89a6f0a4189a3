"""Standard Webhooks secrets, as both signed edges take them: the decision webhook the approval service
verifies (`SPENDGATE_WEBHOOK_SECRET`) and the outbound events the executor signs (`SPENDGATE_EVENT_SECRET`).
"""

from __future__ import annotations

import base64
import binascii

from spendgate_core.errors import ConfigError

MIN_SECRET_BYTES = 24  # Standard Webhooks: 24-64 random bytes


def checked_webhook_secret(secret: str, *, setting: str) -> str:
    """`secret` when it is `whsec_` + base64 of at least 24 random bytes; ConfigError naming `setting`."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigError(f"{setting} must be whsec_ + base64 of at least {MIN_SECRET_BYTES} random bytes")
    return secret
