"""Slack v0 request signing: the published known-answer vector and the ±5-minute window on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.signature import SignatureVerifier

from spendgate_approvals.slack.client import RequestVerifier

# security.md §1.4 (Slack's documentation example), re-computed there with hmac/hashlib.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FrozenClock:
    def __init__(self, at: float) -> None:
        self.at = datetime.fromtimestamp(at, UTC)

    def now(self) -> datetime:
        return self.at


def headers(timestamp: object = TIMESTAMP, signature: str = SIGNATURE) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(timestamp), "x-slack-signature": signature}


def test_known_answer_vector() -> None:
    assert SignatureVerifier(SECRET).generate_signature(timestamp=str(TIMESTAMP), body=BODY) == SIGNATURE
    assert RequestVerifier(SECRET, clock=FrozenClock(TIMESTAMP)).is_valid(BODY, headers())


@pytest.mark.parametrize(
    ("skew", "valid"), [(-301, False), (-300, True), (-299, True), (299, True), (301, False)]
)
def test_the_window_is_five_minutes_both_ways(skew: int, valid: bool) -> None:
    # The request is as old (or as far in the future) as `skew` seconds relative to our clock.
    verifier = RequestVerifier(SECRET, clock=FrozenClock(TIMESTAMP - skew))
    assert verifier.is_valid(BODY, headers()) is valid


@pytest.mark.parametrize(
    "bad",
    [
        headers(signature=SIGNATURE.replace("a2", "b2", 1)),
        headers(signature=SIGNATURE.upper()),
        headers(signature=SIGNATURE[3:]),
        headers(signature=""),
        headers(timestamp="not-a-number"),
        headers(timestamp="9" * 5000),  # beyond Python's int() digit limit: ValueError inside slack_sdk
        headers(timestamp=""),
        {"x-slack-signature": SIGNATURE},
        {"x-slack-request-timestamp": str(TIMESTAMP)},
        {},
    ],
)
def test_anything_else_is_refused_without_raising(bad: dict[str, str]) -> None:
    assert RequestVerifier(SECRET, clock=FrozenClock(TIMESTAMP)).is_valid(BODY, bad) is False


def test_a_body_that_is_not_utf8_is_refused_without_raising() -> None:
    verifier = RequestVerifier(SECRET, clock=FrozenClock(TIMESTAMP))
    assert verifier.is_valid(b"\xff\xfe" + BODY, headers()) is False
    assert verifier.is_valid(BODY + b"&x=1", headers()) is False


def test_the_clock_is_ours() -> None:
    clock = FrozenClock(TIMESTAMP)
    verifier = RequestVerifier(SECRET, clock=clock)
    clock.at += timedelta(seconds=301)
    assert not verifier.is_valid(BODY, headers())
