"""The Block Kit message of one draft, rendered from its current state (so any update shows the truth).

Open drafts carry the decision buttons (`action_id` `spendgate_arm` / `spendgate_confirm` /
`spendgate_reject`, `value` = the draft id); decided drafts show their outcome and no buttons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spendgate_core.domain.lifecycle import approvers
from spendgate_core.domain.models import OPEN_STATUSES, Change, ChangeField, Draft, DraftKind, DraftStatus
from spendgate_core.domain.money import format_money, to_major
from spendgate_core.usecases.decisions import approvals_missing, more_approvals

ARM, CONFIRM, REJECT = "spendgate_arm", "spendgate_confirm", "spendgate_reject"
ACTION_IDS = frozenset({ARM, CONFIRM, REJECT})

_KIND_TITLE = {
    DraftKind.BUDGET_CHANGE: "Budget change",
    DraftKind.BUDGET_SHIFT: "Budget shift",
    DraftKind.STATUS_CHANGE: "Status change",
    DraftKind.ROLLBACK: "Rollback",
}
_TEXT_LIMIT = 2900  # Slack refuses section text over 3000 characters


@dataclass(frozen=True)
class Envelope:
    """The account's rolling-24h envelope: used so far and its cap, in minor units."""

    used: int
    cap: int


def escape(text: str) -> str:
    """Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _signed(minor: int, currency: str) -> str:
    return f"{'+' if minor > 0 else ''}{format_money(minor, currency)}"


def _change_line(change: Change, currency: str) -> str:
    entity = escape(change.entity_id)
    if change.field is ChangeField.DAILY_BUDGET:
        before, after = int(change.before), int(change.after)
        return (
            f"*{entity}* daily budget: `{to_major(before, currency)}` → `{to_major(after, currency)}` "
            f"{currency} ({_signed(after - before, currency)})"
        )
    return f"*{entity}* status: `{escape(str(change.before))}` → `{escape(str(change.after))}`"


def _clock_time(at: datetime) -> str:
    return at.strftime("%H:%M:%S UTC")


def _outcome(draft: Draft) -> str:
    """One line saying where the draft stands."""
    who = ", ".join(escape(a.principal) for a in draft.approvals)
    status = draft.status
    if status is DraftStatus.PENDING:
        if draft.approvals:
            missing = more_approvals(approvals_missing(draft))
            return f":hourglass_flowing_sand: Approved by {who}; needs {missing}."
        return ":hourglass_flowing_sand: Waiting for an approver."
    if status is DraftStatus.ARMED:
        arms = "; ".join(
            f"{escape(a.principal)} (confirm before {_clock_time(a.confirm_before)})" for a in draft.arms
        )
        return f":raised_hand: Armed by {arms}. Only they can press *Confirm — push live*."
    if status is DraftStatus.APPROVED:
        return f":white_check_mark: Approved by {who}; queued to go live."
    if status is DraftStatus.APPLYING:
        return f":gear: Approved by {who}; being applied now."
    if status is DraftStatus.APPLIED:
        when = f" at {_clock_time(draft.applied_at)}" if draft.applied_at else ""
        return f":rocket: Applied{when} (approved by {who})."
    if status is DraftStatus.REJECTED:
        reason = escape(draft.decision_reason or "")
        return f":x: Rejected by {escape(draft.decided_by or 'an approver')}: {reason}"
    if status is DraftStatus.WITHDRAWN:
        return f":leftwards_arrow_with_hook: Withdrawn by {escape(draft.decided_by or 'its proposer')}."
    if status is DraftStatus.EXPIRED:
        return ":hourglass: Expired before anyone decided; ask for a fresh draft."
    if status is DraftStatus.STALE:
        return f":warning: Not applied: the live value changed since the draft. {escape(draft.error or '')}"
    if status is DraftStatus.APPLY_FAILED:
        return f":boom: Apply failed: {escape(draft.error or 'unknown error')}"
    return f"Rolled back by {escape(draft.rolled_back_by or 'a rollback draft')}."


def _button(action_id: str, label: str, draft_id: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": draft_id,
    }
    if style:
        button["style"] = style
    return button


def _actions(draft: Draft) -> dict[str, Any] | None:
    if draft.status not in OPEN_STATUSES:
        return None
    reject = _button(REJECT, "Reject", draft.id, style="danger")
    reject["confirm"] = {
        "title": {"type": "plain_text", "text": "Reject this draft?"},
        "text": {"type": "plain_text", "text": "The change will not be made; the AI can propose again."},
        "confirm": {"type": "plain_text", "text": "Reject"},
        "deny": {"type": "plain_text", "text": "Keep it"},
    }
    if draft.status is not DraftStatus.ARMED:
        elements = [_button(ARM, "Approve…", draft.id, style="primary"), reject]
    else:
        elements = [_button(CONFIRM, "Confirm — push live", draft.id, style="primary"), reject]
        # Four eyes: while one approver's arm is live, another may still need to arm for themselves.
        if approvals_missing(draft) > len(draft.arms):
            elements.insert(1, _button(ARM, "Approve… (another approver)", draft.id))
    # A fresh block_id per version: Slack asks for a new one on every update of a message.
    return {"type": "actions", "block_id": f"spendgate-{draft.version}", "elements": elements}


def render(draft: Draft, *, envelope: Envelope, url: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text for notifications, blocks) of the draft's message."""
    currency = draft.currency
    title = f"{_KIND_TITLE[draft.kind]} · {draft.account_id}"
    delta = draft.impact.daily_budget_delta
    after_this = envelope.used + draft.increase
    approvals = f"{len(approvers(draft))} of {draft.required_approvals}"
    fields = [
        f"*Impact*\n{_signed(delta, currency)} per day",
        f"*24h envelope*\n{format_money(envelope.used, currency)} of {format_money(envelope.cap, currency)} "
        f"used; {format_money(after_this, currency)} with this",
        f"*Proposed by*\n{escape(draft.proposed_by.name)} ({draft.proposed_by.kind})",
        f"*Approvals*\n{approvals}",
    ]
    expires = f"{draft.expires_at:%Y-%m-%d} {_clock_time(draft.expires_at)}"
    context = f"`{draft.id}` · v{draft.version} · expires {expires}"
    if url:
        context += f" · <{url}|Open in the console>"
    quoted = "\n".join(f">{escape(line)}" for line in draft.reason.splitlines() or [""])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150), "emoji": True}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip("\n".join(_change_line(c, currency) for c in draft.changes)),
            },
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f, 1900)} for f in fields]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*Reason*\n{quoted}")}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_outcome(draft))}},
    ]
    actions = _actions(draft)
    if actions:
        blocks.append(actions)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(context, 1900)}]})
    text = f"{title}: {_signed(delta, currency)}/day — {draft.status.value}"
    return text, blocks
