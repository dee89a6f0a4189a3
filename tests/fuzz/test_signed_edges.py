"""The two signature-verified endpoints, fuzzed at the HTTP edge of a real approval service.

Slack (`POST /v1/slack/interactions`, v0 HMAC over `v0:<ts>:<body>`) and the decision webhook (`POST
/v1/webhooks/decisions`, Standard Webhooks): a correctly signed request mutated in any way (body,
timestamp, signature, secret, missing headers, stale or future timestamps) is refused with 401 and changes
nothing; a correctly signed request with any body is answered with a 2xx or a 4xx, never a 5xx, and never
with a traceback (neither in the response nor in the service's log).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from spendgate_approvals.app import create_app
from spendgate_approvals.settings import ApprovalsSettings
from tests.support.servers import serve_in_thread
from tests.support.stack import World

from .conftest import FUZZ, Drafts, fake_slack_api

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"another secret of 32 bytes....!!").decode()
ACTION_IDS = ["spendgate_arm", "spendgate_confirm", "spendgate_reject"]
SLACK_USERS = ["U0ALICE", "U0BOB", "U0VIEWER", "U0NOBODY"]
PEOPLE = ["alice@example.com", "bob@example.com", "carol@example.com", "victor@example.com", "claude"]

# Header values as a server can receive them: printable Latin-1 (anything else is not valid on the wire).
header_text = st.text(
    st.characters(codec="latin-1", exclude_categories=["Cc"]) | st.sampled_from(["\t"]), max_size=80
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@dataclass
class Edge:
    url: str
    http: httpx.Client
    drafts: Drafts
    alice: str
    _ids: Iterator[int]

    def slack(self, body: bytes, headers: list[tuple[str, bytes]]) -> httpx.Response:
        return self.http.post(f"{self.url}/v1/slack/interactions", content=body, headers=headers)

    def webhook(self, body: bytes, headers: list[tuple[str, bytes]]) -> httpx.Response:
        return self.http.post(f"{self.url}/v1/webhooks/decisions", content=body, headers=headers)

    def draft(self, draft_id: str) -> dict[str, Any]:
        response = self.http.get(
            f"{self.url}/v1/drafts/{draft_id}", headers={"Authorization": f"Bearer {self.alice}"}
        )
        response.raise_for_status()
        return dict(response.json())

    def new_webhook_id(self) -> str:
        return f"msg_fuzz_{next(self._ids)}"


@pytest.fixture
def edge(fuzz_world: World, drafts: Drafts) -> Iterator[Edge]:
    """The approval service with Slack (against a fake Web API) and the decision webhook both on."""
    with serve_in_thread(fake_slack_api()) as slack_api:
        settings = fuzz_world.settings(
            ApprovalsSettings,
            slack_signing_secret=SLACK_SECRET,
            slack_bot_token="xoxb-fuzz",
            slack_api_url=f"{slack_api}/api/",
            slack_channel="C0FUZZ",
            webhook_secret=WEBHOOK_SECRET,
        )
        with serve_in_thread(create_app(settings)) as url, httpx.Client(timeout=30) as http:
            yield Edge(url, http, drafts, fuzz_world.tokens.alice, itertools.count())


def assert_refused(response: httpx.Response, what: object) -> None:
    assert response.status_code == 401, (what, response.status_code, response.text)
    assert response.json()["error"]["code"] == "invalid_signature", (what, response.text)


def assert_answered(response: httpx.Response, allowed: set[int], what: object) -> None:
    assert response.status_code in allowed, (what, response.status_code, response.text)
    assert "Traceback" not in response.text, (what, response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["message"], (what, response.text)


def assert_nothing_logged_as_error(caplog: pytest.LogCaptureFixture) -> None:
    """The catch-all logs every unexpected exception, background tasks' included, at ERROR."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("spendgate")]
    assert not errors, [f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in errors]


def assert_untouched(edge: Edge) -> None:
    for draft_id in (edge.drafts.pending, edge.drafts.other):
        draft = edge.draft(draft_id)
        assert (draft["status"], draft["version"]) == ("pending", 1), draft


# --- Slack ------------------------------------------------------------------------------------------------


def slack_signature(body: bytes, timestamp: bytes, secret: str = SLACK_SECRET) -> bytes:
    digest = hmac.new(secret.encode(), b"v0:" + timestamp + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}".encode()


def click_body(user: Any, actions: Any, **extra: Any) -> bytes:
    payload = {"type": "block_actions", "user": user, "actions": actions, **extra}
    return urlencode({"payload": json.dumps(payload)}).encode()


def a_click(
    draft_id: str, *, action_id: str = "spendgate_arm", action_ts: str = "1700000100.000001"
) -> bytes:
    user = {"id": "U0ALICE", "username": "alice", "team_id": "T0FUZZ"}
    action = {"type": "button", "action_id": action_id, "value": draft_id, "action_ts": action_ts}
    return click_body(user, [action], channel={"id": "C0FUZZ"})


@st.composite
def forged_slack_requests(draw: st.DrawFn, draft_id: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A click alice could send, signed right now, then broken in one to three ways."""
    body = a_click(draft_id, action_ts=f"17000001{draw(st.integers(0, 99)):02d}.000001")
    now = int(time.time())
    timestamp = str(now).encode()
    signature = slack_signature(body, timestamp)
    drop: set[str] = set()
    for how in draw(st.lists(st.sampled_from(SLACK_MUTATIONS), min_size=1, max_size=3, unique=True)):
        if how == "flip a bit of the body":
            i = draw(st.integers(0, len(body) - 1))
            body = body[:i] + bytes([body[i] ^ (1 << draw(st.integers(0, 7)))]) + body[i + 1 :]
        elif how == "append to the body":
            body += draw(st.binary(min_size=1, max_size=20))
        elif how == "replace the body":
            replaced = draw(st.binary(max_size=200))
            body = replaced if replaced != body else replaced + b"!"
        elif how == "move the timestamp":
            timestamp = str(now + draw(st.integers(-(10**6), 10**6).filter(bool))).encode()
        elif how == "garble the timestamp":
            timestamp = draw(header_text.filter(lambda t: t != str(now))).encode("latin-1")
        elif how == "sign a stale or future timestamp":
            moved = now + draw(st.sampled_from([-1, 1])) * draw(st.integers(302, 10**10))
            timestamp = str(moved).encode()
            signature = slack_signature(body, timestamp)
        elif how == "garble the signature":
            signature = draw(header_text).encode("latin-1")
        elif how == "tamper with the signature":
            signature = draw(
                st.sampled_from(
                    [
                        signature.upper(),
                        signature[3:],
                        b"v1=" + signature[3:],
                        signature[:-1],
                        signature + b"0",
                        signature[:-1] + (b"0" if signature[-1:] != b"0" else b"1"),
                        b"v0=",
                        signature + b" " + signature,
                    ]
                )
            )
        elif how == "sign with another secret":
            signature = slack_signature(body, timestamp, secret="the wrong signing secret")
        else:
            drop.add(draw(st.sampled_from(["x-slack-signature", "x-slack-request-timestamp"])))
    headers = [
        ("content-type", b"application/x-www-form-urlencoded"),
        ("x-slack-request-timestamp", timestamp),
        ("x-slack-signature", signature),
    ]
    valid = slack_signature(body, timestamp) == signature and abs(_int_or_zero(timestamp) - now) <= 300
    if "x-slack-signature" not in drop and "x-slack-request-timestamp" not in drop and valid:
        # The mutations happened to cancel out (a body flip undone, say): not a forgery.
        drop.add("x-slack-signature")
    return body, [(name, value) for name, value in headers if name not in drop]


SLACK_MUTATIONS = [
    "flip a bit of the body",
    "append to the body",
    "replace the body",
    "move the timestamp",
    "garble the timestamp",
    "sign a stale or future timestamp",
    "garble the signature",
    "tamper with the signature",
    "sign with another secret",
    "drop a header",
]


def _int_or_zero(value: bytes) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_slack_refuses_every_forged_request(edge: Edge, caplog: pytest.LogCaptureFixture) -> None:
    # Control: signed the same way and left alone, a click is accepted (by a Slack user linked to nobody,
    # so it changes nothing); the forgeries below differ only by their mutations.
    now = str(int(time.time())).encode()
    control = click_body(
        {"id": "U0NOBODY"}, [{"action_id": "spendgate_arm", "value": edge.drafts.other, "action_ts": "1.1"}]
    )
    headers = [("x-slack-request-timestamp", now), ("x-slack-signature", slack_signature(control, now))]
    assert edge.slack(control, headers).status_code == 200

    @FUZZ
    @given(request=forged_slack_requests(edge.drafts.pending))
    def check(request: tuple[bytes, list[tuple[str, bytes]]]) -> None:
        body, headers = request
        assert_refused(edge.slack(body, headers), request)

    check()
    assert_untouched(edge)
    assert_nothing_logged_as_error(caplog)


def slack_bodies(draft_ids: list[str]) -> st.SearchStrategy[bytes]:
    """Anything a signed request could carry: junk, forms, JSON payloads, and clicks of every shape."""
    action = st.fixed_dictionaries(
        {
            "action_id": st.sampled_from(ACTION_IDS) | json_values,
            "value": st.sampled_from([*draft_ids, "drf_" + "Z" * 26, "x" * 300]) | json_values,
            "action_ts": st.text(max_size=30) | json_values,
        },
        optional={"type": st.just("button")},
    )
    user = st.fixed_dictionaries({"id": st.sampled_from(SLACK_USERS) | json_values}) | json_values
    clicks = st.builds(click_body, user, st.lists(action, max_size=6) | json_values)
    depth = st.sampled_from([10, 900, 5000, 10000])  # at most 60 KB once form-encoded: under the 64 KiB cap
    return st.one_of(
        st.binary(max_size=300),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=12).map(
            lambda form: urlencode(form).encode()
        ),
        json_values.map(lambda value: urlencode({"payload": json.dumps(value)}).encode()),
        clicks,
        clicks,
        depth.map(lambda n: urlencode({"payload": "[" * n + "]" * n}).encode()),
        depth.map(lambda n: b"payload=" + b"%5B" * n),
    )


def test_slack_answers_any_signed_body_without_a_server_error(
    edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    user = {"id": "U0ALICE"}

    @FUZZ
    @given(body=slack_bodies([edge.drafts.pending, edge.drafts.other]))
    @example(body=click_body(user, [{"action_id": [], "value": edge.drafts.pending, "action_ts": "1"}]))
    @example(
        body=click_body(user, [{"action_id": {"id": 1}, "value": edge.drafts.pending, "action_ts": "1"}])
    )
    @example(
        body=click_body({"id": ["U0ALICE"]}, [{"action_id": "spendgate_arm", "value": "x", "action_ts": "1"}])
    )
    @example(body=urlencode({"payload": "[" * 10000 + "]" * 10000}).encode())
    def check(body: bytes) -> None:
        timestamp = str(int(time.time())).encode()
        headers = [
            ("content-type", b"application/x-www-form-urlencoded"),
            ("x-slack-request-timestamp", timestamp),
            ("x-slack-signature", slack_signature(body, timestamp)),
        ]
        # slack_sdk verifies text: a body that is not UTF-8 cannot verify (401); Slack only sends ASCII.
        allowed = {200, 400} | ({401} if not _is_utf8(body) else set())
        assert_answered(edge.slack(body, headers), allowed, body[:300])

    check()
    time.sleep(0.2)  # clicks are answered first and handled in background tasks; let them finish
    assert_nothing_logged_as_error(caplog)


# --- the decision webhook ---------------------------------------------------------------------------------


def webhook_signature(body: bytes, msg_id: str, at: int, secret: str = WEBHOOK_SECRET) -> bytes:
    """Standard Webhooks v1 over raw bytes (the reference library only signs text)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{at}.".encode() + body, hashlib.sha256).digest()
    return b"v1," + base64.b64encode(mac)


def test_webhook_signature_matches_the_reference_library() -> None:
    at = datetime(2026, 7, 28, tzinfo=UTC)
    reference = Webhook(WEBHOOK_SECRET).sign(msg_id="msg_1", timestamp=at, data='{"a": "é"}')
    assert webhook_signature('{"a": "é"}'.encode(), "msg_1", int(at.timestamp())) == reference.encode()


WEBHOOK_MUTATIONS = [
    "flip a bit of the body",
    "append to the body",
    "replace the body",
    "change the id",
    "move the timestamp",
    "garble the timestamp",
    "sign a stale or future timestamp",
    "garble the signature",
    "tamper with the signature",
    "sign with another secret",
    "drop a header",
]


@st.composite
def forged_webhooks(draw: st.DrawFn, edge: Edge) -> tuple[bytes, list[tuple[str, bytes]]]:
    """bob's valid approval of the pending draft, signed right now, then broken in one to three ways."""
    decision = {
        "draft_id": edge.drafts.pending,
        "version": 1,
        "decision": "approve",
        "approver": "bob@example.com",
    }
    body = json.dumps(decision).encode()
    msg_id = edge.new_webhook_id()
    now = int(time.time())
    timestamp = str(now).encode()
    signature = webhook_signature(body, msg_id, now)
    good_mac = signature.split(b",", 1)[1]
    drop: set[str] = set()
    sent_id = msg_id.encode()
    for how in draw(st.lists(st.sampled_from(WEBHOOK_MUTATIONS), min_size=1, max_size=3, unique=True)):
        if how == "flip a bit of the body":
            i = draw(st.integers(0, len(body) - 1))
            body = body[:i] + bytes([body[i] ^ (1 << draw(st.integers(0, 7)))]) + body[i + 1 :]
        elif how == "append to the body":
            body += draw(st.binary(min_size=1, max_size=20))
        elif how == "replace the body":
            replaced = draw(st.binary(max_size=200))
            body = replaced if replaced != body else replaced + b"!"
        elif how == "change the id":
            sent_id = draw(header_text.filter(lambda t: t != msg_id)).encode("latin-1")
        elif how == "move the timestamp":
            timestamp = str(now + draw(st.integers(-(10**6), 10**6).filter(bool))).encode()
        elif how == "garble the timestamp":
            timestamp = draw(header_text.filter(lambda t: t != str(now))).encode("latin-1")
        elif how == "sign a stale or future timestamp":
            moved = now + draw(st.sampled_from([-1, 1])) * draw(st.integers(302, 10**9))
            timestamp = str(moved).encode()
            signature = webhook_signature(body, msg_id, moved)
        elif how == "garble the signature":
            signature = draw(header_text).encode("latin-1")
        elif how == "tamper with the signature":
            mac = good_mac
            signature = draw(
                st.sampled_from(
                    [
                        mac,
                        b"v2," + mac,
                        b"v1a," + mac,
                        b"V1," + mac,
                        b"v1," + mac[:-2],
                        b"v1," + base64.b64encode(b"\0" * 32),
                        b"v1,not-base64!",
                        b"v1, " + mac,
                        b"v1,",
                        b"v1," + mac.swapcase(),
                        b"v1,x v2," + mac,
                    ]
                )
            )
        elif how == "sign with another secret":
            signature = webhook_signature(body, msg_id, now, secret=OTHER_WEBHOOK_SECRET)
        else:
            drop.add(draw(st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"])))
    headers = [
        ("content-type", b"application/json"),
        ("webhook-id", sent_id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ]
    return body, [(name, value) for name, value in headers if name not in drop]


def test_webhook_refuses_every_forged_decision(edge: Edge, caplog: pytest.LogCaptureFixture) -> None:
    # Control: signed the same way and left alone, a decision gets past the signature (and is refused on
    # its merits: victor is a viewer); the forgeries below differ only by their mutations.
    control = json.dumps(
        {
            "draft_id": edge.drafts.pending,
            "version": 1,
            "decision": "approve",
            "approver": "victor@example.com",
        }
    ).encode()
    msg_id, now = edge.new_webhook_id(), int(time.time())
    headers = [
        ("webhook-id", msg_id.encode()),
        ("webhook-timestamp", str(now).encode()),
        ("webhook-signature", webhook_signature(control, msg_id, now)),
    ]
    assert edge.webhook(control, headers).status_code == 403

    @FUZZ
    @given(request=forged_webhooks(edge))
    def check(request: tuple[bytes, list[tuple[str, bytes]]]) -> None:
        body, headers = request
        assert_refused(edge.webhook(body, headers), request)

    check()
    assert_untouched(edge)
    assert_nothing_logged_as_error(caplog)


def decision_bodies(draft_ids: list[str]) -> st.SearchStrategy[bytes]:
    """Junk, any JSON, and decisions with every field plausible, wrong or missing."""
    decision = st.fixed_dictionaries(
        {},
        optional={
            "draft_id": st.sampled_from([*draft_ids, "drf_" + "Z" * 26]) | json_values,
            "version": st.sampled_from([1, 2, 0, -1, 10**12, 1.0, "1", True]) | json_values,
            "decision": st.sampled_from(["approve", "reject", "APPROVE"]) | json_values,
            "approver": st.sampled_from(PEOPLE) | json_values,
            "reason": st.sampled_from(["not this week", "\x00", " ", "x" * 3000]) | json_values,
            "approved_by": json_values,
        },
    )
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda value: json.dumps(value).encode()),
        decision.map(lambda value: json.dumps(value).encode()),
        decision.map(lambda value: json.dumps(value).encode()),
        st.sampled_from([10, 5000, 30000]).map(lambda n: b"[" * n + b"]" * n),
    )


def test_webhook_answers_any_signed_body_without_a_server_error(
    edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    @FUZZ
    @given(body=decision_bodies([edge.drafts.pending, edge.drafts.other]))
    def check(body: bytes) -> None:
        msg_id, now = edge.new_webhook_id(), int(time.time())
        headers = [
            ("content-type", b"application/json"),
            ("webhook-id", msg_id.encode()),
            ("webhook-timestamp", str(now).encode()),
            ("webhook-signature", webhook_signature(body, msg_id, now)),
        ]
        # Standard Webhooks payloads are text: a body that is not UTF-8 cannot verify (401).
        allowed = {200, 400, 403, 404, 409, 422} | ({401} if not _is_utf8(body) else set())
        assert_answered(edge.webhook(body, headers), allowed, body[:300])

    check()
    assert_nothing_logged_as_error(caplog)
