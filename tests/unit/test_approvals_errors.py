"""The approval service's edge: every error becomes `{"error": {"code", "message"}}` with the right status."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from spendgate_approvals.errors import GENERIC_500, describe_validation, install_error_handlers
from spendgate_approvals.middleware import BodySizeLimit, CatchAll
from spendgate_approvals.schemas import ConfirmBody
from spendgate_core import errors
from spendgate_core.contracts.ledger import LedgerCorruptError

RAISED: dict[str, Exception] = {
    "invalid": errors.InvalidInput("amount must be positive"),
    "policy": errors.PolicyViolation("max_change_pct", "+80% exceeds 50%"),
    "missing": errors.NotFound("no draft drf_x"),
    "anon": errors.Unauthenticated("send a token"),
    "forbidden": errors.Forbidden("viewers read only"),
    "conflict": errors.Conflict("already decided"),
    "version": errors.VersionConflict("changed meanwhile"),
    "duplicate": errors.DuplicateDraft("another draft holds the field"),
    "required": errors.PreconditionRequired("send If-Match"),
    "failed": errors.PreconditionFailed("stale version"),
    "flood": errors.TooManyRequests("slow down"),
    "upstream": errors.TransientUpstreamError("adsim timed out", retry_after=7.2),
    "refused": errors.PermanentUpstreamError("adsim said 400"),
    "contended": errors.SpendgateError("the draft store is too contended right now; try again"),
    "config": errors.ConfigError("policy amounts do not fit JPY: secret detail"),
    "corrupt": LedgerCorruptError("a ledger entry is unreadable (run spendgate audit verify)"),
    "bug": RuntimeError("database password is hunter2"),
}


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=1024)
    app.add_middleware(CatchAll)

    @app.get("/raise/{name}")
    def raise_(name: str) -> None:
        raise RAISED[name]

    @app.post("/echo")
    def echo(body: ConfirmBody) -> dict[str, str]:
        return {"confirm_token": body.confirm_token}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(), raise_server_exceptions=True)


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("invalid", 422, "invalid_input"),
        ("policy", 422, "policy_violation"),
        ("missing", 404, "not_found"),
        ("anon", 401, "unauthenticated"),
        ("forbidden", 403, "forbidden"),
        ("conflict", 409, "conflict"),
        ("version", 409, "version_conflict"),
        ("duplicate", 409, "duplicate_draft"),
        ("required", 428, "precondition_required"),
        ("failed", 412, "precondition_failed"),
        ("flood", 429, "too_many_requests"),
        ("upstream", 503, "upstream_unavailable"),
        ("refused", 502, "upstream_rejected"),
        ("contended", 503, "error"),
        ("corrupt", 500, "ledger_corrupt"),
    ],
)
def test_core_errors_map_to_statuses(client: TestClient, name: str, status: int, code: str) -> None:
    response = client.get(f"/raise/{name}")
    assert response.status_code == status
    assert response.json() == {"error": {"code": code, "message": RAISED[name].args[0]}}


def test_401_asks_for_a_bearer_token_and_503_says_when_to_retry(client: TestClient) -> None:
    assert client.get("/raise/anon").headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/raise/upstream").headers["Retry-After"] == "7"
    assert client.get("/raise/contended").headers["Retry-After"] == "1"


@pytest.mark.parametrize("name", ["bug", "config"])
def test_unexpected_errors_are_a_generic_500_with_a_logged_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/raise/{name}")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": GENERIC_500}}
    assert "hunter2" not in response.text and "secret" not in response.text
    assert "hunter2" in caplog.text or "secret detail" in caplog.text  # the operator sees what happened
    if name == "bug":
        assert any(r.exc_info for r in caplog.records)  # the traceback is in the log, not the response


def test_body_cap(client: TestClient) -> None:
    ok = client.post("/echo", json={"confirm_token": "t"})
    assert ok.status_code == 200
    too_big = client.post("/echo", content=b"x" * 2048, headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "content_too_large"
    not_a_number = client.post("/echo", content=b"{}", headers={"Content-Length": "lots"})
    assert not_a_number.status_code == 400 and not_a_number.json()["error"]["code"] == "bad_request"


def test_validation_messages_name_the_field_and_stay_short() -> None:
    errors_ = [
        {"type": "missing", "loc": ("body", "reason"), "msg": "Field required"},
        {
            "type": "less_than_equal",
            "loc": ("query", "limit"),
            "msg": "Input should be less than or equal to 200",
        },
    ]
    assert describe_validation(errors_) == (
        "reason (body): Field required; limit (query): Input should be less than or equal to 200"
    )
    many = [
        {"type": "extra_forbidden", "loc": ("body", "x" * 5000), "msg": "Extra inputs are not permitted"}
    ] * 9
    message = describe_validation(many)
    assert message.endswith("and 4 more") and len(message) < 700
    body = [{"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be a valid dictionary"}]
    assert "JSON object" in describe_validation(body)
