"""Button clicks from Slack, turned into the core decision use cases (no shortcut: same rules as REST).

The request is verified before anything here runs. A click names a Slack user, a button and a draft id;
the user is mapped to a principal by `slack_user_id`, and the core decides whether that human may act.
Every refusal becomes a message only the clicking user sees; nothing changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from spendgate_approvals.slack.messages import ACTION_IDS, ARM, CONFIRM, REJECT
from spendgate_approvals.slack.state import LockBusy, SlackState
from spendgate_core.contracts.jobs import ApplyQueue
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import Channel, DraftStatus
from spendgate_core.domain.principals import Principal, PrincipalDirectory
from spendgate_core.errors import SpendgateError
from spendgate_core.usecases import deciding as approval
from spendgate_core.usecases.deps import CoreDeps

CHANNEL: Channel = "slack"
REJECT_REASON = "rejected in Slack"  # buttons carry no text; the ledger records who and where
_MAX_FIELD = 256
CLICK_WAIT_SECONDS = 2.0  # well inside Slack's 3 s


class MalformedInteraction(ValueError):
    """A verified request whose body is not an interaction payload we can read."""


@dataclass(frozen=True)
class Click:
    user: str
    action_id: str
    draft_id: str
    action_ts: str
    channel: str | None  # where to answer the user privately (absent for some surfaces)


@dataclass(frozen=True)
class Reply:
    notice: str | None  # shown only to the clicking user
    refresh: bool  # re-render the draft's message


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_FIELD:
        raise MalformedInteraction(f"the interaction payload has no usable {what}")
    return value


def _field(container: Any, key: str) -> str | None:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_FIELD else None


def parse_clicks(body: bytes) -> list[Click]:
    """The spendgate button clicks in an interaction request; [] for any other kind of interaction."""
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=10)
        (raw,) = form["payload"]
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError, KeyError, RecursionError) as exc:  # deep nesting: RecursionError
        raise MalformedInteraction("the body must be a form with one JSON `payload` field") from exc
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return []
    user = payload.get("user")
    actions = payload.get("actions")
    if not isinstance(user, dict) or not isinstance(actions, list):
        raise MalformedInteraction("a block_actions payload needs `user` and `actions`")
    channel = _field(payload.get("channel"), "id") or _field(payload.get("container"), "channel_id")
    clicks = []
    for action in actions[:5]:
        action_id = action.get("action_id") if isinstance(action, dict) else None
        # isinstance first: a list or object is unhashable, and `in` a frozenset would raise TypeError.
        if not isinstance(action_id, str) or action_id not in ACTION_IDS:
            continue  # another app's element, or a future button we do not know
        clicks.append(
            Click(
                user=_str(user.get("id"), "user id"),
                action_id=action_id,
                draft_id=_str(action.get("value"), "button value"),
                action_ts=_str(action.get("action_ts"), "action_ts"),
                channel=channel,
            )
        )
    return clicks


class ClickHandler:
    def __init__(
        self, *, deps: CoreDeps, principals: PrincipalDirectory, queue: ApplyQueue, state: SlackState
    ) -> None:
        self._deps = deps
        self._principals = principals
        self._queue = queue
        self._state = state

    def handle(self, click: Click) -> Reply:
        """Act on one (first-seen) click as the mapped human; refusals become a private notice."""
        principal = self._principals.by_slack_user(click.user)
        if principal is None:
            return Reply(
                notice=(
                    f":no_entry: Your Slack account ({click.user}) is not linked to a spendgate approver, "
                    "so nothing was changed. Ask an admin to set "
                    f'slack_user_id = "{click.user}" on your principal.'
                ),
                refresh=False,
            )
        try:
            # One click per draft and user at a time, so a double click is decided after the first.
            with self._state.locked(f"{click.draft_id}:{click.user}", wait_seconds=CLICK_WAIT_SECONDS):
                return self._act(principal, click)
        except LockBusy:
            return Reply(notice=":hourglass: Still working on your previous click; try again.", refresh=False)
        except SpendgateError as exc:
            return Reply(notice=f":no_entry: Nothing was changed: {exc.message}", refresh=True)

    def _act(self, principal: Principal, click: Click) -> Reply:
        if click.action_id == ARM:
            return self._arm(principal, click)
        if click.action_id == CONFIRM:
            return self._confirm(principal, click)
        assert click.action_id == REJECT
        approval.reject(
            deps=self._deps,
            principal=principal,
            draft_id=click.draft_id,
            reason=REJECT_REASON,
            channel=CHANNEL,
        )
        return Reply(notice=None, refresh=True)

    def _arm(self, principal: Principal, click: Click) -> Reply:
        deps = self._deps
        current = approval.visible_draft(deps, principal, click.draft_id)
        mine = approval.options_for(deps, principal, current).confirm_before
        if mine is not None and self._state.token(current.id, click.user) is not None:
            # A second press of Approve… while armed: keep the arm (a re-arm would bump the version).
            return Reply(
                notice=f"Already armed: press *Confirm — push live* before {_clock(mine)}.", refresh=True
            )
        armed = approval.arm(
            deps=deps,
            principal=principal,
            draft_id=current.id,
            if_match=f'"{current.version}"',
            channel=CHANNEL,
        )
        window = armed.confirm_before - deps.clock.now()
        self._state.keep_token(current.id, click.user, armed.confirm_token, ttl=window)
        return Reply(
            notice=(
                f"Armed. Press *Confirm — push live* before {_clock(armed.confirm_before)} to approve; "
                "nothing changes until you do."
            ),
            refresh=True,
        )

    def _confirm(self, principal: Principal, click: Click) -> Reply:
        deps = self._deps
        token = self._state.token(click.draft_id, click.user)
        if token is None:
            current = approval.visible_draft(deps, principal, click.draft_id)
            options = approval.options_for(deps, principal, current)
            if options.decides and principal.name in lifecycle.approvers(current):
                return Reply(notice=None, refresh=True)  # a double click: the first one counted
            # Open means a live arm from another channel: its token is not Slack's to use.
            reason = (
                options["confirm"].reason or "your live arm was made outside Slack; press *Approve…* here."
            )
            return Reply(notice=f":no_entry: Nothing was changed: {reason}", refresh=True)
        draft = approval.confirm(
            deps=deps,
            principal=principal,
            draft_id=click.draft_id,
            confirm_token=token,
            channel=CHANNEL,
            queue=self._queue,
        )
        self._state.drop_token(click.draft_id, click.user)
        if draft.status is DraftStatus.APPROVED:
            return Reply(notice=None, refresh=True)
        return Reply(notice=approval.options_for(deps, principal, draft).note, refresh=True)


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S UTC")
