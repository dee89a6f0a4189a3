"""The gateway's error edge: each spendgate error reads as advice to the model; internals stay masked."""

from __future__ import annotations

import pytest

from spendgate_core.errors import (
    ConfigError,
    Conflict,
    DuplicateDraft,
    Forbidden,
    InvalidInput,
    NotFound,
    PermanentUpstreamError,
    PolicyViolation,
    SpendgateError,
    TooManyRequests,
    TransientUpstreamError,
    Unauthenticated,
)
from spendgate_gateway.errors import ModelToolError, describe_invalid_arguments, model_errors, to_tool_error


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            PolicyViolation("max_change_pct", "+80% on c exceeds 50%"),
            "max_change_pct: +80% on c exceeds 50%. "
            "Propose a change within this policy limit, or ask a human to decide.",
        ),
        (
            DuplicateDraft("draft d already changes daily_budget of c"),
            "duplicate_draft: draft d already changes daily_budget of c.",
        ),
        (
            Conflict("expected_current_budget: c has 1.00 USD live"),
            "expected_current_budget: c has 1.00 USD live.",
        ),
        (
            InvalidInput("USD amounts take at most 2 decimal places; got 1.234"),
            "Invalid input: USD amounts take at most 2 decimal places; got 1.234. "
            "Correct the argument and call the tool again.",
        ),
        (NotFound("no draft d"), "Not found: no draft d."),
        (Forbidden("only the proposer may withdraw"), "Not allowed: only the proposer may withdraw."),
        (
            Unauthenticated("no token"),
            "Not authenticated: no token. Ask the operator for a valid spendgate token.",
        ),
        (TooManyRequests("slow down"), "Too many requests: slow down. Wait a little and try again."),
        (
            TransientUpstreamError("adsim could not be reached for insights: ConnectError"),
            "The ad platform is unreachable or overloaded right now, "
            "so the data could not be read and nothing was changed. Try again in a minute.",
        ),
        (
            PermanentUpstreamError("adsim refused get_campaign (403): token lacks rights", status=403),
            "The ad platform refused the request (403). Nothing was changed.",
        ),
        (
            SpendgateError("the draft store is too contended right now; try again"),
            "the draft store is too contended right now; try again. Try again.",
        ),
    ],
)
def test_each_error_becomes_advice(error: SpendgateError, text: str) -> None:
    assert str(to_tool_error(error)) == text


def test_policy_messages_start_with_the_rule() -> None:
    assert str(to_tool_error(PolicyViolation("envelope_24h", "only 5.00 USD left"))).startswith(
        "envelope_24h: "
    )


def test_model_errors_translates_spendgate_errors_and_leaves_the_rest_masked() -> None:
    with pytest.raises(ModelToolError, match="Not found: no draft x"), model_errors():
        raise NotFound("no draft x")
    with pytest.raises(ConfigError), model_errors():
        raise ConfigError("policy amounts do not fit JPY")
    with pytest.raises(KeyError), model_errors():
        raise KeyError("internal")


def test_invalid_arguments_are_described_per_argument() -> None:
    errors = [
        {"type": "greater_than", "loc": ("new_daily_budget",), "msg": "Input should be greater than 0"},
        {"type": "missing_argument", "loc": ("reason",), "msg": "Missing required argument"},
        {"type": "unexpected_keyword_argument", "loc": ("amount",), "msg": "Unexpected keyword argument"},
        {"type": "missing", "loc": ("filters", 0, "value"), "msg": "Field required"},
    ]
    text = describe_invalid_arguments("propose_budget_change", errors)
    assert text.startswith(
        "Invalid arguments for propose_budget_change: new_daily_budget: Input should be greater than 0; "
        "reason: this argument is required; amount: there is no such argument; "
        "filters.0.value: this argument is required."
    )
    many = describe_invalid_arguments("t", [{"type": "x", "loc": (f"a{i}",), "msg": "bad"} for i in range(8)])
    assert "(and 3 more)" in many
