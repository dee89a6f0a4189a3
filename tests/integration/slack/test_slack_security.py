"""Refusals on the Slack channel: forged, stale or replayed requests, unmapped users, viewers, double clicks.

Each one changes nothing (the draft keeps its version, no job is queued) and none is ever a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_approvals.app import create_app
from spendgate_core.contracts.jobs import APPLY_QUEUE
from spendgate_core.domain.models import DraftStatus
from tests.support.servers import serve_in_thread
from tests.support.stack import World

from .conftest import SlackWorld, click_body, settings_for, sign


@pytest.fixture
def pending(slack: SlackWorld) -> Iterator[str]:
    draft_id = slack.propose()
    slack.fake.wait_for("chat.postMessage")
    yield draft_id


def unchanged(slack: SlackWorld, draft_id: str) -> None:
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.PENDING and draft.version == 1 and not draft.arms


def test_bad_signatures_are_401_and_change_nothing(slack: SlackWorld, pending: str) -> None:
    body = click_body("U0ALICE", "spendgate_arm", pending)
    now = int(slack.clock.now().timestamp())
    forged = [
        sign(body, now, secret="not-the-signing-secret"),
        sign(body + b"&x=1", now),  # signed a different body
        {**sign(body, now), "X-Slack-Signature": "v0=" + "0" * 64},
        {**sign(body, now), "X-Slack-Signature": ""},
        {k: v for k, v in sign(body, now).items() if k != "X-Slack-Signature"},
        {k: v for k, v in sign(body, now).items() if k != "X-Slack-Request-Timestamp"},
        {**sign(body, now), "X-Slack-Request-Timestamp": "yesterday"},
        {**sign(body, now), "X-Slack-Request-Timestamp": "9" * 5000},
        {**sign(body, now), "X-Slack-Request-Timestamp": f"{now}.5"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ]
    for headers in forged:
        answer = slack.post(body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json()["error"]["code"] == "invalid_signature"
    # Invalid UTF-8, correctly signed: slack_sdk would raise decoding it; still a plain 401.
    junk = b"payload=\xff\xfe\xfd"
    assert slack.post(junk, headers=sign(junk, now)).status_code == 401
    unchanged(slack, pending)
    assert slack.fake.of("chat.update") == [] and slack.fake.of("chat.postEphemeral") == []


def test_the_five_minute_window_on_a_frozen_clock(slack: SlackWorld, pending: str) -> None:
    now = int(slack.clock.now().timestamp())
    for skew in (-301, 301, -3600, 10**9):
        body = click_body("U0ALICE", "spendgate_arm", pending)
        assert slack.post(body, timestamp=now + skew).status_code == 401, skew
    unchanged(slack, pending)

    inside = slack.post(click_body("U0ALICE", "spendgate_arm", pending), timestamp=now - 299)
    assert inside.status_code == 200
    assert slack.core.store.get(pending).status is DraftStatus.ARMED


def test_a_replayed_request_changes_nothing_twice(slack: SlackWorld, pending: str) -> None:
    body = click_body("U0ALICE", "spendgate_arm", pending)
    headers = sign(body, int(slack.clock.now().timestamp()))
    assert slack.post(body, headers=headers).status_code == 200
    armed = slack.core.store.get(pending)
    assert armed.status is DraftStatus.ARMED and armed.version == 2

    slack.clock.advance(290)  # still inside the signature window: only the dedupe stands in the way
    for _ in range(3):
        replay = slack.post(body, headers=headers)
        assert replay.status_code == 200 and replay.content == b""
    assert slack.core.store.get(pending).version == 2
    slack.fake.wait_for("chat.postEphemeral")
    assert len(slack.fake.of("chat.postEphemeral")) == 1  # the replays were not even answered


def test_an_unmapped_slack_user_is_told_and_nothing_changes(slack: SlackWorld, pending: str) -> None:
    for action in ("spendgate_arm", "spendgate_confirm", "spendgate_reject"):
        assert slack.click("U0STRANGER", action, pending).status_code == 200
    notices = slack.fake.wait_for("chat.postEphemeral", 3)
    assert all(
        n["user"] == "U0STRANGER" and "not linked to a spendgate approver" in n["text"] for n in notices
    )
    unchanged(slack, pending)


def test_a_viewer_cannot_decide(slack: SlackWorld, pending: str, redis_client: redis.Redis) -> None:
    for action in ("spendgate_arm", "spendgate_reject"):
        assert slack.click("U0VIEWER", action, pending).status_code == 200
    notices = slack.fake.wait_for("chat.postEphemeral", 2)
    assert all("may read drafts of acc_us_001 but not decide them" in n["text"] for n in notices)
    unchanged(slack, pending)
    assert Queue(APPLY_QUEUE, connection=redis_client, serializer=JSONSerializer).count == 0


def test_double_clicks_change_nothing_twice(
    slack: SlackWorld, pending: str, redis_client: redis.Redis
) -> None:
    slack.click("U0ALICE", "spendgate_arm", pending)
    slack.click("U0ALICE", "spendgate_arm", pending)  # a second press of Approve…: no re-arm
    assert slack.core.store.get(pending).version == 2
    second = slack.fake.wait_for("chat.postEphemeral", 2)[-1]
    assert "Already armed" in second["text"]

    slack.click("U0ALICE", "spendgate_confirm", pending)
    slack.click("U0ALICE", "spendgate_confirm", pending)
    draft = slack.core.store.get(pending)
    assert draft.status is DraftStatus.APPROVED and draft.version == 3 and len(draft.approvals) == 1
    assert Queue(APPLY_QUEUE, connection=redis_client, serializer=JSONSerializer).count == 1

    rejected_id = slack.propose(skip=1)
    slack.click("U0BOB", "spendgate_reject", rejected_id)
    slack.click("U0BOB", "spendgate_reject", rejected_id)
    rejected = slack.core.store.get(rejected_id)
    assert rejected.status is DraftStatus.REJECTED and rejected.version == 2


def test_confirm_without_an_own_arm_or_after_the_window(slack: SlackWorld, pending: str) -> None:
    slack.click("U0ALICE", "spendgate_arm", pending)
    slack.click("U0BOB", "spendgate_confirm", pending)  # Bob sees the button, but the arm is Alice's
    bob = slack.fake.wait_for("chat.postEphemeral", 2)[-1]
    assert bob["user"] == "U0BOB" and "no live arm" in bob["text"]
    assert slack.core.store.get(pending).status is DraftStatus.ARMED

    slack.clock.advance(121)  # the 120 s arm window has passed
    slack.click("U0ALICE", "spendgate_confirm", pending)
    late = slack.fake.wait_for("chat.postEphemeral", 3)[-1]
    assert "arm window" in late["text"]
    draft = slack.core.store.get(pending)
    assert draft.status is DraftStatus.PENDING and not draft.approvals
    # The message went back to the Approve… button.
    slack.wait(
        lambda: '"spendgate_arm"' in json.dumps(slack.fake.of("chat.update")[-1:]),
        what="the message to disarm",
    )


def test_verified_requests_that_are_not_our_clicks(slack: SlackWorld, pending: str) -> None:
    now = int(slack.clock.now().timestamp())
    not_a_form = b'{"type": "block_actions"}'
    assert slack.post(not_a_form, headers=sign(not_a_form, now)).status_code == 400
    bad_json = b"payload=%7Bnot-json"
    assert slack.post(bad_json, headers=sign(bad_json, now)).status_code == 400
    no_user = b"payload=" + json.dumps({"type": "block_actions", "actions": []}).encode()
    assert slack.post(no_user, headers=sign(no_user, now)).status_code == 400
    shortcut = b"payload=" + json.dumps({"type": "shortcut", "callback_id": "x"}).encode()
    assert slack.post(shortcut, headers=sign(shortcut, now)).status_code == 200
    other_button = click_body("U0ALICE", "someone_elses_button", pending)
    assert slack.post(other_button).status_code == 200
    unknown_draft = click_body("U0ALICE", "spendgate_arm", "drf_does-not-exist")
    assert slack.post(unknown_draft).status_code == 200
    assert "no draft" in slack.fake.wait_for("chat.postEphemeral")[-1]["text"]
    unchanged(slack, pending)


def test_without_a_signing_secret_the_endpoint_is_off(world: World) -> None:
    with serve_in_thread(create_app(settings_for(world))) as url:
        answer = httpx.post(f"{url}/v1/slack/interactions", content=b"payload=%7B%7D", timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "slack_not_configured"
