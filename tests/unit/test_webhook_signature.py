"""Standard Webhooks: the published known-answer vector, secret checks, a strict decision body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook

from spendgate_approvals.webhooks.decisions import DecisionBody, decision_webhook
from spendgate_core.errors import ConfigError

# security.md §1.4 (Standard Webhooks / Svix), re-computed there with hmac/hashlib.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_known_answer_vector() -> None:
    at = datetime.fromtimestamp(TIMESTAMP, UTC)
    assert Webhook(SECRET).sign(msg_id=MSG_ID, timestamp=at, data=BODY) == SIGNATURE
    webhook = decision_webhook(SECRET)
    assert webhook is not None
    assert webhook.sign(msg_id=MSG_ID, timestamp=at, data=BODY) == SIGNATURE


def test_secrets_must_be_long_enough_base64() -> None:
    assert decision_webhook(None) is None
    for bad in ("whsec_", "whsec_c2hvcnQ=", "whsec_!!!!", "not base64 at all"):
        with pytest.raises(ConfigError, match="SPENDGATE_WEBHOOK_SECRET"):
            decision_webhook(bad)


def test_decision_bodies_are_strict() -> None:
    good = {"draft_id": "drf_X", "version": 3, "decision": "approve", "approver": "alice@example.com"}
    assert DecisionBody.model_validate(good).reason is None
    for bad in (
        {**good, "extra": 1},
        {**good, "version": "3"},
        {**good, "version": 0},
        {**good, "version": True},
        {**good, "decision": "APPROVE"},
        {**good, "approver": ""},
        {**good, "decision": "reject"},  # a reject names its reason
        {**good, "decision": "reject", "reason": "   "},
        {**good, "reason": "x" * 2001},
        {**good, "reason": "a\x1b[31mred"},
    ):
        with pytest.raises(ValidationError):
            DecisionBody.model_validate(bad)
    assert DecisionBody.model_validate({**good, "decision": "reject", "reason": " no "}).reason == "no"
