"""The decision query: for one draft and one principal, which actions are open, and why not.

This is the one home of "may this human decide, and what may they do next". The use cases in
`deciding` enforce it by calling `decision_options` and `require`, and every channel (REST, console,
Slack, webhook, CLI) renders the same options, so what a page offers and what core allows cannot
disagree. Each closed action carries a reason written for the human who is refused; channels show it
as it is. Pure: it reads the draft, the principal, the time and the account's limits, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import OPEN_STATUSES, Draft, DraftStatus
from spendgate_core.domain.policy import Limits, required_approvals
from spendgate_core.domain.principals import Principal
from spendgate_core.errors import Conflict, Forbidden, SpendgateError

Action = Literal["arm", "confirm", "reject", "rollback", "withdraw"]
ACTIONS: tuple[Action, ...] = ("arm", "confirm", "reject", "rollback", "withdraw")

# Why an action is closed, for machines; `Option.reason` says the same for people.
Refusal = Literal[
    "not_a_decider",  # no approver or admin role for the account (agents never decide)
    "own_draft",  # proposed it; four eyes means someone else decides
    "not_proposer",  # only the proposer withdraws
    "already_approved",  # this human's approval counted; the next one must come from someone else
    "expired",
    "decided",  # no longer open (approved, applied, rejected …)
    "no_arm",  # confirm needs this human's own live arm
    "arm_lapsed",  # this human's arm window has passed
    "not_applied",  # only applied changes can be rolled back
]

# Who is refused gets 403; a draft in the wrong state for the action gets 409.
_FORBIDDEN: frozenset[Refusal] = frozenset({"not_a_decider", "own_draft", "not_proposer"})


@dataclass(frozen=True)
class Option:
    action: Action
    open: bool
    refusal: Refusal | None = None
    reason: str | None = None  # why it is closed, for the human asking

    def view(self) -> dict[str, Any]:
        return {"open": self.open, "refusal": self.refusal, "reason": self.reason}


@dataclass(frozen=True)
class DecisionOptions:
    """What `principal` may do with `draft` at `now`, action by action."""

    draft_id: str
    version: int
    principal: str
    decides: bool  # may decide drafts of this account at all, and did not propose this one
    approvals: int  # distinct humans who approved so far
    approvals_needed: int  # how many the quorum asks for under the policy in force
    confirm_before: datetime | None  # this human's live arm, if any
    options: dict[Action, Option]

    def __getitem__(self, action: Action) -> Option:
        return self.options[action]

    @property
    def open_actions(self) -> tuple[Action, ...]:
        return tuple(a for a in ACTIONS if self.options[a].open)

    @property
    def note(self) -> str | None:
        """The one sentence to show when arming is closed: why this human cannot approve (now)."""
        return self.options["arm"].reason

    def view(self) -> dict[str, Any]:
        """The JSON shape every channel outside the process sees (REST, and through it the CLI)."""
        return {
            "principal": self.principal,
            "version": self.version,
            "approvals": self.approvals,
            "approvals_needed": self.approvals_needed,
            "confirm_before": self.confirm_before.isoformat() if self.confirm_before else None,
            "open": list(self.open_actions),
            "actions": {a: self.options[a].view() for a in ACTIONS},
        }


def approvals_needed(draft: Draft, *, limits: Limits | None = None) -> int:
    """The quorum: what the draft was proposed with, or more if the policy in force now asks for more."""
    if limits is None:
        return draft.required_approvals
    return max(draft.required_approvals, required_approvals(increase=draft.gross_increase, limits=limits))


def approvals_missing(draft: Draft, *, limits: Limits | None = None) -> int:
    return max(0, approvals_needed(draft, limits=limits) - len(lifecycle.approvers(draft)))


def more_approvals(count: int) -> str:
    return f"{count} more approval" + ("" if count == 1 else "s")


def _clock(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _open(action: Action) -> Option:
    return Option(action, True)


def _closed(action: Action, refusal: Refusal, reason: str) -> Option:
    return Option(action, False, refusal, reason)


def _rollback(draft: Draft, principal: Principal, decider: Option | None) -> Option:
    # Asking for a rollback decides nothing (the rollback draft needs its own approvals, never from
    # whoever asked), so only a principal who may not decide at all is refused, not the proposer.
    if decider is not None and decider.refusal == "not_a_decider":
        return Option("rollback", False, decider.refusal, decider.reason)
    written = draft.status is DraftStatus.APPLIED or (
        draft.status is DraftStatus.APPLY_FAILED and bool(draft.applied_changes)
    )
    if not written or draft.rolled_back_by is not None:
        return _closed(
            "rollback",
            "not_applied",
            f"This draft is {draft.status.value}; only applied changes can be rolled back.",
        )
    return _open("rollback")


def decision_options(
    draft: Draft, principal: Principal, *, now: datetime, limits: Limits | None = None
) -> DecisionOptions:
    """Every action's verdict for this principal; `limits` (the account's policy now) sizes the quorum."""
    needed = approvals_needed(draft, limits=limits)
    approved = lifecycle.approvers(draft)
    mine = next((a for a in lifecycle.live_arms(draft, now=now) if a.principal == principal.name), None)
    lapsed = mine is None and any(a.principal == principal.name for a in draft.arms)

    # Who is asking comes first: a refusal for the person holds whatever state the draft is in.
    decider: Option | None = None
    if not principal.may_decide(draft.account_id):
        decider = _closed(
            "arm",
            "not_a_decider",
            f"You may read drafts of {draft.account_id} but not decide them: "
            "deciding needs the approver or admin role.",
        )
    elif draft.proposed_by.name == principal.name:
        decider = _closed(
            "arm", "own_draft", "You requested this draft, so a different approver must decide it."
        )

    state: Option | None = None  # the draft's own state, whoever asks
    if draft.status not in OPEN_STATUSES:
        state = _closed("arm", "decided", f"This draft is {draft.status.value}; it can no longer be decided.")
    elif not lifecycle.in_time(draft, now=now):
        state = _closed(
            "arm", "expired", f"This draft expired at {_clock(draft.expires_at)}; ask for a fresh one."
        )

    options: dict[Action, Option] = {}
    first = decider or state
    if first is not None:
        for action in ("arm", "confirm", "reject"):
            options[action] = Option(action, False, first.refusal, first.reason)
    elif principal.name in approved:
        left = max(0, needed - len(approved))
        done = _closed(
            "arm",
            "already_approved",
            f"You approved this draft. It needs {more_approvals(left)} from someone else.",
        )
        options["arm"] = done
        options["confirm"] = Option("confirm", False, done.refusal, done.reason)
        options["reject"] = _open("reject")
    else:
        options["arm"] = _open("arm")
        options["reject"] = _open("reject")
        if mine is not None:
            options["confirm"] = _open("confirm")
        elif lapsed:
            options["confirm"] = _closed(
                "confirm",
                "arm_lapsed",
                "Your arm window has passed, so the draft is pending again; arm it, then confirm.",
            )
        else:
            options["confirm"] = _closed(
                "confirm",
                "no_arm",
                "You have no live arm on this draft: arm it first, then confirm within the arm window "
                "(only the approver who armed can confirm).",
            )
    options["rollback"] = _rollback(draft, principal, decider)
    if draft.proposed_by.name != principal.name:
        options["withdraw"] = _closed(
            "withdraw", "not_proposer", "Only the principal who proposed a draft may withdraw it."
        )
    elif state is not None:
        options["withdraw"] = Option("withdraw", False, state.refusal, state.reason)
    else:
        options["withdraw"] = _open("withdraw")
    return DecisionOptions(
        draft_id=draft.id,
        version=draft.version,
        principal=principal.name,
        decides=decider is None,
        approvals=len(approved),
        approvals_needed=needed,
        confirm_before=mine.confirm_before if mine else None,
        options=options,
    )


def require(options: DecisionOptions, action: Action) -> None:
    """Raise the refusal of a closed action: Forbidden for who is asking, Conflict for the draft's state."""
    option = options[action]
    if option.open:
        return
    assert option.refusal is not None and option.reason is not None
    error: type[SpendgateError] = Forbidden if option.refusal in _FORBIDDEN else Conflict
    raise error(option.reason)
