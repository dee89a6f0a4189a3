"""Bad input is refused in the error shape with a message that says what to fix — never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from spendgate_core.domain.principals import Principal
from spendgate_core.usecases.deps import CoreDeps

from .conftest import Api, propose_increase

MB = 1024 * 1024


def assert_error(
    response: httpx.Response, status: int, *, code: str | None = None, says: str = "", case: object = None
) -> None:
    assert response.status_code == status, (case, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, (case, body)
    if code is not None:
        assert body["error"]["code"] == code, (case, body)
    assert says.lower() in body["error"]["message"].lower(), (case, body["error"]["message"])


@pytest.fixture
def draft_id(core: CoreDeps, people: dict[str, Principal]) -> str:
    return propose_increase(core, people["agent"], increase=5_000)


# Each matrix runs in one test against one server: the cases share no state, only set-up cost.
CONFIRM_BODIES: list[tuple[dict[str, Any], int, str]] = [
    ({}, 422, "body"),
    ({"json": {}}, 422, "confirm_token (body): field required"),
    ({"json": []}, 422, "json object"),
    ({"json": "token"}, 422, "json object"),
    ({"json": {"confirm_token": 1}}, 422, "confirm_token (body): input should be a valid string"),
    ({"json": {"confirm_token": None}}, 422, "confirm_token"),
    ({"json": {"confirm_token": ["t"]}}, 422, "confirm_token"),
    ({"json": {"confirm_token": ""}}, 422, "at least 1 character"),
    ({"json": {"confirm_token": "t" * 10_000}}, 422, "at most 256 characters"),
    (
        {"json": {"confirm_token": "t", "approve": True}},
        422,
        "approve (body): extra inputs are not permitted",
    ),
    (
        {"content": b'{"confirm_token": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
        422,
        "unicode",
    ),
    (
        {"content": b'{"confirm_token": ', "headers": {"Content-Type": "application/json"}},
        400,
        "not valid json",
    ),
    (
        {"content": b"\xff\xfe garbage", "headers": {"Content-Type": "application/json"}},
        400,
        "not valid json",
    ),
    (
        {"content": b'{"confirm_token": "t"}', "headers": {"Content-Type": "text/plain"}},
        422,
        "json object",
    ),
    ({"content": b'{"confirm_token": "t"}'}, 422, "json object"),
    (
        {"content": b'{"confirm_token": 1e999999}', "headers": {"Content-Type": "application/json"}},
        422,
        "confirm_token",
    ),
]


def test_confirm_bodies(api: Api, draft_id: str) -> None:
    for kwargs, status, says in CONFIRM_BODIES:
        response = api.call("alice", "POST", f"/v1/drafts/{draft_id}/confirm", **kwargs)
        assert_error(response, status, says=says, case=kwargs)
    assert api.get_draft("alice", draft_id).json()["status"] == "pending"


REJECT_BODIES: list[tuple[dict[str, Any], str]] = [
    ({}, "reason (body): field required"),
    ({"reason": ""}, "at least 1 character"),
    ({"reason": "   \n  "}, "at least 1 character"),
    ({"reason": "r" * 2001}, "at most 2000 characters"),
    ({"reason": 12}, "valid string"),
    ({"reason": True}, "valid string"),
    ({"reason": {"text": "no"}}, "valid string"),
    ({"reason": "no\u0000way"}, "control characters"),
    ({"reason": "no", "reason2": "x"}, "extra inputs"),
    ({"reason": "no", "x" * 5000: 1}, "extra inputs"),
]


def test_reject_bodies(api: Api, draft_id: str) -> None:
    for body, says in REJECT_BODIES:
        response = api.call("alice", "POST", f"/v1/drafts/{draft_id}/reject", json=body)
        assert_error(response, 422, says=says, case=body)
    assert api.get_draft("alice", draft_id).json()["status"] == "pending"


LIST_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit (query): input should be greater than or equal to 1"),
    ({"limit": 201}, "less than or equal to 200"),
    ({"limit": -1}, "greater than or equal to 1"),
    ({"limit": "ten"}, "valid integer"),
    ({"limit": "1.5"}, "valid integer"),
    ({"limit": "9" * 400}, "limit (query)"),
    ({"status": "done"}, "status (query): input should be"),
    ({"status": "PENDING"}, "status (query)"),
    ({"account_id": "a" * 129}, "at most 128 characters"),
]
AUDIT_QUERIES: list[dict[str, Any]] = [
    {"limit": 0},
    {"limit": 1001},
    {"limit": "x"},
    {"account_id": "a" * 500},
]


def test_list_and_audit_queries(api: Api) -> None:
    for params, says in LIST_QUERIES:
        response = api.call("alice", "GET", "/v1/drafts", params=params)
        assert_error(response, 422, code="validation_error", says=says, case=params)
    for params in AUDIT_QUERIES:
        response = api.call("alice", "GET", "/v1/audit", params=params)
        assert_error(response, 422, code="validation_error", case=params)


BAD_IDS = [
    "nope",
    "drf_",
    "drf_" + "0" * 26,  # well formed, unknown
    "drf_" + "0" * 25,
    "drf_" + "0" * 27,
    "drf_" + "a" * 26,  # lower case is not Crockford as stored
    "drf_" + "I" * 26,  # I, L, O, U are not in Crockford base32
    "drf_" + "é" * 26,
    "drf_%00" + "0" * 23,
    "DRF_" + "0" * 26,
    "x" * 4000,
    "..%2F..%2Fetc",
]


def test_unknown_or_malformed_draft_ids_are_404(api: Api) -> None:
    for bad_id in BAD_IDS:
        for method, suffix, kwargs in [
            ("GET", "", {}),
            ("POST", "/arm", {"headers": {"If-Match": '"1"'}}),
            ("POST", "/confirm", {"json": {"confirm_token": "t"}}),
            ("POST", "/reject", {"json": {"reason": "no"}}),
            ("POST", "/rollback", {}),
        ]:
            response = api.call("alice", method, f"/v1/drafts/{bad_id}{suffix}", **kwargs)
            assert_error(response, 404, case=(method, bad_id[:40], suffix))


IF_MATCH: list[tuple[str, int]] = [
    ("", 428),
    ("abc", 412),
    ('"-1"', 412),
    ('"1.0"', 412),
    ('"' + "9" * 40 + '"', 412),
    ("*", 412),
    ('"' + "1" * 7000 + '"', 412),
    ('W/"1"', 200),
]


def test_if_match_values(api: Api, draft_id: str) -> None:
    for if_match, status in IF_MATCH:  # the only good one comes last: it moves the draft on
        response = api.call("alice", "POST", f"/v1/drafts/{draft_id}/arm", headers={"If-Match": if_match})
        if status == 200:
            assert response.status_code == 200, response.text
        else:
            assert_error(response, status, case=if_match[:40])


def test_oversized_bodies_are_413(api: Api, draft_id: str) -> None:
    path = f"/v1/drafts/{draft_id}/confirm"
    big = b'{"confirm_token": "' + b"t" * MB + b'"}'
    declared = api.call("alice", "POST", path, content=big, headers={"Content-Type": "application/json"})
    assert_error(declared, 413, code="content_too_large", says="64 KiB")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what is read
        yield b'{"confirm_token": "'
        for _ in range(16):
            yield b"t" * (64 * 1024)
        yield b'"}'

    streamed = api.call("alice", "POST", path, content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(streamed, 413, code="content_too_large")
    # Endpoints without a body refuse a huge one too, and a GET is no loophole.
    arm = api.call("alice", "POST", f"/v1/drafts/{draft_id}/arm", content=big, headers={"If-Match": '"1"'})
    assert_error(arm, 413)
    assert api.get_draft("alice", draft_id).json()["status"] == "pending"
    # Just under the cap is fine (and then fails validation on its length, not its size).
    fits = b'{"confirm_token": "' + b"t" * 60_000 + b'"}'
    under = api.call("alice", "POST", path, content=fits, headers={"Content-Type": "application/json"})
    assert_error(under, 422, says="at most 256")


def test_unknown_routes_and_methods_use_the_error_shape(api: Api, draft_id: str) -> None:
    assert_error(api.call("alice", "GET", "/v1/nope"), 404, code="not_found")
    assert_error(api.call("alice", "GET", f"/v1/drafts/{draft_id}/approve"), 404)
    assert_error(api.call("alice", "POST", f"/v1/drafts/{draft_id}/approve"), 404)
    assert_error(api.call(None, "GET", "/"), 404)
    not_allowed = api.call("alice", "DELETE", f"/v1/drafts/{draft_id}")
    assert_error(not_allowed, 405, code="method_not_allowed")
    assert "GET" in not_allowed.headers["Allow"]
    assert_error(api.call("alice", "PUT", "/v1/drafts"), 405)
    assert_error(api.call("alice", "GET", f"/v1/drafts/{draft_id}/arm"), 405)
