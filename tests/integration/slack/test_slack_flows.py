"""Slack as an approval channel, end to end against a fake Slack Web API: post, arm, confirm, reject."""

from __future__ import annotations

import json

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_approvals.slack.client import SlackApi, SlackConfig
from spendgate_approvals.slack.notifier import SlackNotifier, slack_retries
from spendgate_approvals.slack.state import SlackState
from spendgate_core.adapters import events
from spendgate_core.contracts.jobs import APPLY_QUEUE, apply_job_id
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftStatus
from tests.support.stack import KEYS
from tests.support.waiting import eventually

from .conftest import BOT_TOKEN, CHANNEL, SlackWorld, action_ids


def apply_jobs(redis_client: redis.Redis) -> list[str]:
    return Queue(APPLY_QUEUE, connection=redis_client, serializer=JSONSerializer).get_job_ids()


def test_a_new_draft_is_posted_with_its_diff_and_buttons(slack: SlackWorld) -> None:
    draft_id = slack.propose(increase=5_000)
    (posted,) = slack.fake.wait_for("chat.postMessage")
    draft = slack.core.store.get(draft_id)
    change = draft.changes[0]

    assert posted["channel"] == CHANNEL
    blocks = posted["blocks"]
    assert action_ids(blocks) == ["spendgate_arm", "spendgate_reject"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {b["value"] for b in buttons} == {draft_id}
    text = json.dumps(blocks)
    assert f"{int(change.before) / 100:.2f}" in text and f"{int(change.after) / 100:.2f}" in text
    assert "+50.00 USD per day" in text  # impact
    assert "of 2000.00 USD used" in text  # envelope use
    assert "claude (agent)" in text  # proposer
    assert "more reach for a strong week &lt;b&gt;&amp;&lt;/b&gt;" in text  # reason, escaped for mrkdwn
    assert f"http://approvals.test/console/drafts/{draft_id}" in text
    assert "+50.00 USD" in posted["text"]  # notification fallback


def test_arm_then_confirm_approves_and_enqueues_one_apply_job(
    slack: SlackWorld, redis_client: redis.Redis
) -> None:
    draft_id = slack.propose()
    slack.fake.wait_for("chat.postMessage")

    armed = slack.click("U0ALICE", "spendgate_arm", draft_id)
    assert armed.status_code == 200 and armed.content == b""
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.ARMED and draft.arms[0].channel == "slack"
    (update,) = slack.fake.wait_for("chat.update")
    assert action_ids(update["blocks"]) == ["spendgate_confirm", "spendgate_reject"]
    confirm_button = update["blocks"][-2]["elements"][0]
    assert confirm_button["text"]["text"] == "Confirm — push live" and confirm_button["value"] == draft_id
    assert "alice@example.com" in json.dumps(update["blocks"])
    (notice,) = slack.fake.wait_for("chat.postEphemeral")
    assert notice["user"] == "U0ALICE" and "Confirm — push live" in notice["text"]
    # The confirm token lives server-side only: no Slack call ever carried it.
    token = redis_client.get(f"sg:slack:confirm:{draft_id}:U0ALICE")
    assert token is not None
    assert all(token.decode() not in json.dumps(args) for _, args in slack.fake.calls)

    confirmed = slack.click("U0ALICE", "spendgate_confirm", draft_id)
    assert confirmed.status_code == 200
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.APPROVED
    assert [a.principal for a in draft.approvals] == ["alice@example.com"]
    assert apply_jobs(redis_client) == [apply_job_id(draft_id, draft.version)]
    updates = slack.fake.wait_for("chat.update", 2)
    assert action_ids(updates[-1]["blocks"]) == []  # decided: no buttons any more
    assert "Approved by alice@example.com" in json.dumps(updates[-1]["blocks"])
    assert redis_client.get(f"sg:slack:confirm:{draft_id}:U0ALICE") is None


def test_reject_from_slack(slack: SlackWorld, redis_client: redis.Redis) -> None:
    draft_id = slack.propose()
    slack.fake.wait_for("chat.postMessage")

    assert slack.click("U0BOB", "spendgate_reject", draft_id).status_code == 200
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.REJECTED and draft.decided_by == "bob@example.com"
    (update,) = slack.fake.wait_for("chat.update")
    assert action_ids(update["blocks"]) == []
    assert "Rejected by bob@example.com" in json.dumps(update["blocks"])
    assert apply_jobs(redis_client) == []


def test_four_eyes_needs_two_slack_users(slack: SlackWorld, redis_client: redis.Redis) -> None:
    draft_id = slack.propose(increase=60_000)  # +600.00 > second_approver_above 500.00
    slack.fake.wait_for("chat.postMessage")
    slack.click("U0ALICE", "spendgate_arm", draft_id)
    slack.click("U0ALICE", "spendgate_confirm", draft_id)
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.PENDING and len(draft.approvals) == 1
    slack.fake.wait_for("chat.postEphemeral", 2)
    assert "It needs 1 more approval from someone else." in slack.fake.of("chat.postEphemeral")[-1]["text"]

    # Alice cannot be the second pair of eyes, however she clicks.
    slack.click("U0ALICE", "spendgate_arm", draft_id)
    assert slack.core.store.get(draft_id).version == draft.version
    refusal = slack.fake.wait_for("chat.postEphemeral", 3)[-1]
    assert refusal["user"] == "U0ALICE" and "You approved this draft" in refusal["text"]

    slack.click("U0BOB", "spendgate_arm", draft_id)
    slack.click("U0BOB", "spendgate_confirm", draft_id)
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.APPROVED
    assert {a.principal for a in draft.approvals} == {"alice@example.com", "bob@example.com"}
    assert apply_jobs(redis_client) == [apply_job_id(draft_id, draft.version)]


def test_two_approvers_can_be_armed_at_once(slack: SlackWorld, redis_client: redis.Redis) -> None:
    draft_id = slack.propose(increase=60_000)
    slack.fake.wait_for("chat.postMessage")
    slack.click("U0ALICE", "spendgate_arm", draft_id)
    update = slack.fake.wait_for("chat.update")[-1]
    assert action_ids(update["blocks"]) == ["spendgate_confirm", "spendgate_arm", "spendgate_reject"]
    slack.click("U0BOB", "spendgate_arm", draft_id)  # the "another approver" button
    slack.click("U0BOB", "spendgate_confirm", draft_id)
    slack.click("U0ALICE", "spendgate_confirm", draft_id)
    draft = slack.core.store.get(draft_id)
    assert draft.status is DraftStatus.APPROVED
    assert [a.principal for a in draft.approvals] == ["bob@example.com", "alice@example.com"]
    assert apply_jobs(redis_client) == [apply_job_id(draft_id, draft.version)]


def test_outcomes_from_other_channels_update_the_message(slack: SlackWorld) -> None:
    """Events the approval service did not cause through Slack (here: an applied draft) still show."""
    draft_id = slack.propose()
    slack.fake.wait_for("chat.postMessage")
    slack.click("U0ALICE", "spendgate_arm", draft_id)
    slack.click("U0ALICE", "spendgate_confirm", draft_id)
    slack.fake.wait_for("chat.update", 2)

    # Play the executor: applying → applied, announced on the stream as the worker does.
    store, now = slack.core.store, slack.clock.now()
    approved = store.get(draft_id)
    applying = store.save(lifecycle.begin_apply(approved), expected_version=approved.version)
    applied = store.save(
        lifecycle.mark_applied(applying, now=now, applied_changes=(0,)), expected_version=applying.version
    )
    assert events.publish(slack.redis, type="draft.applied", draft=applied, now=now, keys=KEYS)

    # The approval's own updates may still be arriving: wait for the message to settle on "Applied".
    def shows_applied() -> bool:
        latest = json.dumps(slack.fake.wait_for("chat.update", 3)[-1]["blocks"])
        assert ":rocket: Applied" in latest, f"not applied yet: {slack.fake.calls}"
        return True

    eventually(shows_applied, timeout=10, what="the message to show the applied draft")


def test_slack_errors_do_not_lose_the_message(slack: SlackWorld) -> None:
    """Slack refusing a post schedules a retry; a later pass (any replica) posts it once it is due."""
    slack.fake.fail_next.append("ratelimited")
    draft_id = slack.propose()
    slack.fake.wait_for("chat.postMessage", 1)
    slack.wait(
        lambda: slack.redis.zcard(KEYS.slack_retries()) == 1, what="the failed post to wait for a retry"
    )
    assert _pending(slack.redis) == 0  # the event itself is done with

    # Another replica's pass, once the retry is due (its backoff is seconds: move the clock, not sleep).
    config = SlackConfig(
        signing_secret="x", bot_token=BOT_TOKEN, api_url=f"{slack.fake_url}/api/", channel=CHANNEL
    )
    replica = SlackNotifier(
        deps=slack.core,
        client=slack.redis,
        api=SlackApi(config),
        state=SlackState(slack.redis, keys=KEYS),
        retries=slack_retries(slack.redis, clock=slack.clock, keys=KEYS),
        consumer="another-replica",
        keys=KEYS,
    )
    assert replica.retry_due() == 0  # not due yet
    slack.clock.advance(10)
    replica.retry_due()  # this replica, or the app's own consumer if it got there first
    slack.wait(lambda: slack.redis.zcard(KEYS.slack_retries()) == 0, what="the retry to be taken and settled")
    posts = slack.fake.wait_for("chat.postMessage", 2)
    assert action_ids(posts[-1]["blocks"]) == ["spendgate_arm", "spendgate_reject"]
    assert posts[-1]["blocks"][-2]["elements"][0]["value"] == draft_id
    assert slack.redis.zcard(KEYS.slack_retries()) == 0


def _pending(client: redis.Redis) -> int:
    return int(client.xpending("sg:events", "slack")["pending"])
