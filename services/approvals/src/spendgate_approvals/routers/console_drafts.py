"""The console's queue and one draft's page with its two-step decision (arm, confirm), reject, rollback.

Every decision calls the core use cases in `spendgate_core.usecases.deciding` with channel "console",
exactly like REST, Slack and the CLI; core errors become a banner on the page (never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

import anyio.from_thread
from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import ValidationError

from spendgate_approvals.console import operations, presenters
from spendgate_approvals.console.formatting import (
    KIND_LABELS,
    STATUS_LABELS,
    ago,
    countdown,
    signed_money,
    timestamp,
    until,
)
from spendgate_approvals.console.pages import MAX_ACCOUNT_ID, not_found, trouble, visible_accounts
from spendgate_approvals.console.policy_report import policy_report
from spendgate_approvals.console.sessions import FlashLevel, PendingConfirm
from spendgate_approvals.console.web import (
    HANDLED,
    PREFIX,
    PostDep,
    Visit,
    VisitDep,
    problem_for,
    redirect,
    render,
)
from spendgate_approvals.dependencies import QueueDep
from spendgate_approvals.schemas import RejectBody
from spendgate_core.adapters.circuit import Circuits
from spendgate_core.domain.models import OPEN_STATUSES, Channel, Draft, DraftStatus
from spendgate_core.errors import Conflict, InvalidInput, NotFound
from spendgate_core.usecases import deciding as approval

CHANNEL: Channel = "console"
QUEUE_LIMIT = 100

router = APIRouter(prefix=PREFIX, include_in_schema=False)


STATUS_OPTIONS = [
    (presenters.OPEN_FILTER, "Waiting (pending + armed)"),
    (presenters.ALL_FILTER, "All"),
    *((s.value, STATUS_LABELS[s]) for s in DraftStatus),
]


@router.get("/")
def queue(
    visit: VisitDep,
    account: str = "",
    status: str = presenters.OPEN_FILTER,
) -> Response:
    """Drafts the human may see, newest first; by default those still waiting for a decision."""
    account = account[:MAX_ACCOUNT_ID]  # an over-long id matches nothing anyway; keep it out of Redis keys
    if status not in presenters.STATUS_FILTERS:
        status = presenters.OPEN_FILTER
    drafts = presenters.queue_drafts(
        visit.deps,
        visit.principal,
        account_id=account or None,
        statuses=presenters.STATUS_FILTERS[status],
        limit=QUEUE_LIMIT,
    )
    now = visit.deps.clock.now()
    context = {
        "nav": "queue",
        "rows": [presenters.queue_row(d, now=now) for d in drafts],
        "accounts": visible_accounts(visit),
        "account": account,
        "status": status,
        "status_options": STATUS_OPTIONS,
    }
    return render(visit.request, "queue.html", context, visit=visit)


# one draft ----------------------------------------------------------------------------------------------
def _outcome(draft: Draft) -> list[str]:
    """Plain sentences on what happened to a decided draft."""
    lines = []
    when = timestamp(draft.decided_at) if draft.decided_at else None
    if draft.status is DraftStatus.REJECTED:
        lines.append(f"Rejected by {draft.decided_by} at {when}: “{draft.decision_reason}”")
    elif draft.status is DraftStatus.WITHDRAWN:
        lines.append(f"Withdrawn by {draft.decided_by} at {when}: “{draft.decision_reason}”")
    elif draft.status is DraftStatus.EXPIRED:
        lines.append(f"Expired at {timestamp(draft.expires_at)} without a decision.")
    elif draft.status in {DraftStatus.APPROVED, DraftStatus.APPLYING} and draft.approved_at:
        lines.append(f"Approved at {timestamp(draft.approved_at)}; the executor is pushing it live.")
    if draft.applied_at and draft.status in {DraftStatus.APPLIED, DraftStatus.ROLLED_BACK}:
        lines.append(f"Applied at {timestamp(draft.applied_at)}.")
    if draft.error:
        lines.append(f"Platform said: {draft.error}")
    return lines


def _draft_page(
    visit: Visit, draft_id: str, *, problem: Exception | None = None, reject_reason: str = ""
) -> Response:
    deps, principal = visit.deps, visit.principal
    status_code, banner = problem_for(problem) if problem is not None else (200, None)
    try:
        draft = approval.visible_draft(deps, principal, draft_id)
    except NotFound:
        return not_found(visit, f"There is no draft {draft_id[:64]!r} that you can see.")
    now = deps.clock.now()
    limits = deps.limits(draft.account_id, draft.currency)
    used = deps.store.envelope_used(draft.account_id, now=now)
    pending = visit.sessions.pending_confirm(visit.session, draft.id)
    control = presenters.decision_control(draft, principal=principal, pending=pending, now=now, limits=limits)
    changes = presenters.change_rows(draft, presenters.live_campaigns(deps, draft))
    checked = draft.status in OPEN_STATUSES | {DraftStatus.APPROVED}
    context = {
        "draft": draft,
        "kind": KIND_LABELS[draft.kind],
        "status_label": STATUS_LABELS[draft.status],
        "impact": signed_money(draft.impact.daily_budget_delta, draft.currency),
        "created": ago(draft.created_at, now),
        "created_at": timestamp(draft.created_at),
        "expires": until(draft.expires_at, now),
        "is_open": draft.status in OPEN_STATUSES,
        "approvals_count": len(draft.approvals),
        "changes": changes,
        "moved": any(row.moved for row in changes),
        "envelope": presenters.envelope(draft, limits=limits, used=used),
        "policy": policy_report(draft, limits=limits, envelope_used=used, now=now) if checked else None,
        "approvals": presenters.approval_rows(draft),
        "arms": presenters.arm_rows(draft, now=now),
        "control": control,
        "countdown": countdown(control.seconds_left),
        "outcome": _outcome(draft),
        "circuit": operations.circuit_view(
            Circuits(visit.resources.redis, keys=visit.resources.keys).state(draft.account_id), now=now
        ),
        "problem": banner,
        "reject_open": bool(reject_reason) or isinstance(problem, InvalidInput),
        "reject_reason": reject_reason,
    }
    return render(visit.request, "draft.html", context, visit=visit, status_code=status_code)


@router.get("/drafts/{draft_id}")
def draft_page(draft_id: str, visit: VisitDep) -> Response:
    try:
        return _draft_page(visit, draft_id)
    except HANDLED as exc:
        return trouble(visit, exc)


def _decide(
    visit: Visit, draft_id: str, act: Callable[[], tuple[str, FlashLevel, str]], **page: Any
) -> Response:
    """Run one decision; on success flash its message and redirect, else show the draft with the problem."""
    try:
        target, level, text = act()
    except HANDLED as exc:
        try:
            return _draft_page(visit, draft_id, problem=exc, **page)
        except HANDLED as again:
            return trouble(visit, again)
    visit.sessions.flash(visit.session, level, text)
    return redirect(target)


def _draft_href(draft_id: str) -> str:
    return f"{PREFIX}/drafts/{quote(draft_id, safe='')}"


@router.post("/drafts/{draft_id}/arm")
def arm(draft_id: str, visit: PostDep, version: Annotated[str, Form()] = "") -> Response:
    """Step one. The form names the version the human looked at; a changed draft is refused (412)."""

    def act() -> tuple[str, FlashLevel, str]:
        armed = approval.arm(
            deps=visit.deps,
            principal=visit.principal,
            draft_id=draft_id,
            if_match=f'"{version}"' if version else None,
            channel=CHANNEL,
        )
        pending = PendingConfirm(token=armed.confirm_token, confirm_before=armed.confirm_before)
        visit.sessions.keep_confirm(visit.session, draft_id, pending)
        window = countdown((armed.confirm_before - visit.deps.clock.now()).total_seconds())
        return (
            _draft_href(draft_id),
            "info",
            f"Step 1 done. Check the change once more, then confirm within {window}.",
        )

    return _decide(visit, draft_id, act)


@router.post("/drafts/{draft_id}/confirm")
def confirm(draft_id: str, visit: PostDep, queue: QueueDep) -> Response:
    """Step two, with the confirm token this session kept from step one (it never reached the browser)."""

    def act() -> tuple[str, FlashLevel, str]:
        pending = visit.sessions.pending_confirm(visit.session, draft_id)
        if pending is None:
            raise Conflict("there is no approval of yours to confirm here; press “Approve & push live” first")
        try:
            draft = approval.confirm(
                deps=visit.deps,
                principal=visit.principal,
                draft_id=draft_id,
                confirm_token=pending.token,
                channel=CHANNEL,
                queue=queue,
            )
        except Conflict:
            visit.sessions.drop_confirm(visit.session, draft_id)  # the arm lapsed or the draft moved on
            raise
        visit.sessions.drop_confirm(visit.session, draft_id)
        if draft.status is DraftStatus.APPROVED:
            return _draft_href(draft_id), "ok", "Approved. The change is queued to go live."
        next_step = approval.options_for(visit.deps, visit.principal, draft).note
        return _draft_href(draft_id), "ok", f"Your approval is recorded. {next_step}"

    return _decide(visit, draft_id, act)


@router.post("/drafts/{draft_id}/reject")
def reject(draft_id: str, visit: PostDep, reason: Annotated[str, Form()] = "") -> Response:
    def act() -> tuple[str, FlashLevel, str]:
        try:
            body = RejectBody(reason=reason)
        except ValidationError:
            raise InvalidInput(
                "give a reason for rejecting (1 to 2000 characters, no control characters)"
            ) from None
        approval.reject(
            deps=visit.deps, principal=visit.principal, draft_id=draft_id, reason=body.reason, channel=CHANNEL
        )
        return _draft_href(draft_id), "ok", "Rejected. The proposer will see your reason."

    return _decide(visit, draft_id, act, reject_reason=reason[:2000])


@router.post("/drafts/{draft_id}/rollback")
def rollback(draft_id: str, visit: PostDep) -> Response:
    """Stage a rollback draft and go to it: it needs its own two-step approval, by someone else."""

    def act() -> tuple[str, FlashLevel, str]:
        staged = anyio.from_thread.run(
            partial(
                approval.request_rollback,
                deps=visit.deps,
                io=visit.resources.drafting,
                principal=visit.principal,
                draft_id=draft_id,
            )
        )
        return (
            _draft_href(staged.id),
            "info",
            "Rollback draft created. It needs its own two-step approval by a different approver.",
        )

    return _decide(visit, draft_id, act)
