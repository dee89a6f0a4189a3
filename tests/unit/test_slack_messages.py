"""The Slack message of a draft and the parsing of button clicks, without sockets."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from spendgate_approvals.slack.interactions import MalformedInteraction, parse_clicks
from spendgate_approvals.slack.messages import Envelope, render
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import (
    Actor,
    Approval,
    Change,
    ChangeField,
    Draft,
    DraftKind,
    DraftStatus,
    Impact,
)
from tests.unit.core.factories import T0, budget_draft

ENVELOPE = Envelope(used=35_000, cap=200_000)


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["action_id"], e["value"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_a_pending_draft_offers_approve_and_reject() -> None:
    draft = budget_draft(before=10_000, after=12_500)
    text, blocks = render(draft, envelope=ENVELOPE, url="http://a.test/console/drafts/x")
    assert buttons(blocks) == [("spendgate_arm", draft.id), ("spendgate_reject", draft.id)]
    shown = text_of(blocks)
    assert "`100.00` → `125.00` USD (+25.00 USD)" in shown
    assert "+25.00 USD per day" in shown
    assert "350.00 USD of 2000.00 USD used; 375.00 USD with this" in shown
    assert "claude (agent)" in shown and "0 of 1" in shown
    assert "<http://a.test/console/drafts/x|Open in the console>" in shown
    assert text == "Budget change · acc_us_001: +25.00 USD/day — pending"
    reject = blocks[-2]["elements"][1]
    assert reject["style"] == "danger" and reject["confirm"]["confirm"]["text"] == "Reject"


def test_an_armed_draft_offers_confirm_until_the_window_ends() -> None:
    draft = lifecycle.arm(
        budget_draft(), principal="alice@example.com", channel="slack", token="t", now=T0, window_seconds=120
    )
    _, blocks = render(draft, envelope=ENVELOPE, url=None)
    assert [a for a, _ in buttons(blocks)] == ["spendgate_confirm", "spendgate_reject"]
    confirm = blocks[-2]["elements"][0]
    assert confirm["text"]["text"] == "Confirm — push live" and confirm["style"] == "primary"
    assert "alice@example.com (confirm before 12:02:00 UTC)" in text_of(blocks)
    assert blocks[-2]["block_id"] == f"spendgate-{draft.version}"
    assert "t" not in {e.get("value") for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_four_eyes_keep_an_approve_button_for_the_second_approver() -> None:
    draft = lifecycle.arm(
        budget_draft(required=2),
        principal="alice@example.com",
        channel="slack",
        token="t",
        now=T0,
        window_seconds=120,
    )
    _, blocks = render(draft, envelope=ENVELOPE, url=None)
    assert [a for a, _ in buttons(blocks)] == ["spendgate_confirm", "spendgate_arm", "spendgate_reject"]
    both = lifecycle.arm(
        draft, principal="bob@example.com", channel="slack", token="u", now=T0, window_seconds=120
    )
    _, blocks = render(both, envelope=ENVELOPE, url=None)
    assert [a for a, _ in buttons(blocks)] == ["spendgate_confirm", "spendgate_reject"]


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"status": DraftStatus.APPROVED}, ":white_check_mark: Approved by alice@example.com"),
        ({"status": DraftStatus.APPLIED, "applied_at": T0}, ":rocket: Applied at 12:00:00 UTC"),
        (
            {"status": DraftStatus.REJECTED, "decided_by": "bob", "decision_reason": "<no>"},
            "Rejected by bob: &lt;no&gt;",
        ),
        (
            {"status": DraftStatus.STALE, "error": "cmp moved"},
            "live value changed since the draft. cmp moved",
        ),
        ({"status": DraftStatus.APPLY_FAILED, "error": "HTTP 403"}, ":boom: Apply failed: HTTP 403"),
        ({"status": DraftStatus.EXPIRED}, ":hourglass: Expired"),
        ({"status": DraftStatus.WITHDRAWN, "decided_by": "claude"}, "Withdrawn by claude"),
    ],
)
def test_decided_drafts_show_their_outcome_and_no_buttons(update: dict[str, Any], expected: str) -> None:
    approval = Approval(principal="alice@example.com", channel="slack", armed_at=T0, confirmed_at=T0)
    draft = budget_draft().model_copy(update={**update, "approvals": (approval,)})
    _, blocks = render(draft, envelope=ENVELOPE, url=None)
    assert buttons(blocks) == []
    assert expected in text_of(blocks)


def test_other_kinds_currencies_and_hostile_text() -> None:
    draft = Draft(
        id="drf_01JX0000000000000000000000",
        account_id="acc_jp_003",
        platform="adsim",
        kind=DraftKind.STATUS_CHANGE,
        changes=(Change(entity_id="cmp_<jp>", field=ChangeField.STATUS, before="ENABLED", after="PAUSED"),),
        impact=Impact(daily_budget_delta=-5000, currency="JPY"),
        reason="line one\n<!channel> & line two " + "x" * 5000,
        proposed_by=Actor(name="claude", kind="agent"),
        created_at=T0,
        expires_at=T0 + timedelta(hours=48),
    )
    _, blocks = render(draft, envelope=Envelope(used=0, cap=300_000), url=None)
    shown = text_of(blocks)
    assert "*cmp_&lt;jp&gt;* status: `ENABLED` → `PAUSED`" in shown
    assert "-5000 JPY per day" in shown and "0 JPY of 300000 JPY used; 0 JPY with this" in shown
    assert ">line one\\n>&lt;!channel&gt; &amp; line two" in shown
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)


def form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def click(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0ALICE"},
        "channel": {"id": "C1"},
        "actions": [{"action_id": "spendgate_arm", "value": "drf_1", "action_ts": "1.2"}],
    }
    payload.update(overrides)
    return payload


def test_parse_clicks() -> None:
    (one,) = parse_clicks(form(click()))
    assert (one.user, one.action_id, one.draft_id, one.action_ts, one.channel) == (
        "U0ALICE",
        "spendgate_arm",
        "drf_1",
        "1.2",
        "C1",
    )
    container = parse_clicks(form(click(channel=None, container={"channel_id": "C2"})))
    assert container[0].channel == "C2"
    assert parse_clicks(form(click(type="view_submission"))) == []
    assert parse_clicks(form(click(actions=[{"action_id": "other", "value": "x", "action_ts": "1"}]))) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"payload=",
        b"payload=%7B&payload=%7B",
        b"nopayload=1",
        b"\xff\xfe",
        form(click(user="U0ALICE")),
        form(click(actions="spendgate_arm")),
        form(click(actions=[{"action_id": "spendgate_arm", "value": "", "action_ts": "1"}])),
        form(click(actions=[{"action_id": "spendgate_arm", "value": "d" * 300, "action_ts": "1"}])),
        form(click(actions=[{"action_id": "spendgate_arm", "value": "d"}])),
        form(click(user={"id": 7})),
    ],
)
def test_malformed_interactions(body: bytes) -> None:
    with pytest.raises(MalformedInteraction):
        parse_clicks(body)
