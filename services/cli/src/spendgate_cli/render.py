"""Plain-text views of drafts for the terminal: a table for lists, a diff for one draft."""

from __future__ import annotations

from typing import Any

COLUMNS = ("ID", "STATUS", "ACCOUNT", "KIND", "CHANGE", "BY", "CREATED")


def change_line(change: dict[str, Any]) -> str:
    delta = change.get("delta")
    suffix = f"  ({_signed(delta)})" if delta not in (None, "") else ""
    return f"{change['entity_id']} {change['field']}: {change['before']} → {change['after']}{suffix}"


def draft_table(drafts: list[dict[str, Any]]) -> str:
    if not drafts:
        return "no drafts"
    rows = [COLUMNS]
    for draft in drafts:
        changes = draft.get("changes") or []
        summary = change_line(changes[0]) if changes else "-"
        if len(changes) > 1:
            summary += f" (+{len(changes) - 1} more)"
        rows.append(
            (
                draft["id"],
                draft["status"],
                draft["account_id"],
                draft["kind"],
                summary,
                draft.get("proposed_by", {}).get("name", "?"),
                str(draft.get("created_at", ""))[:19],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def draft_diff(draft: dict[str, Any]) -> str:
    impact = draft.get("impact") or {}
    proposer = draft.get("proposed_by") or {}
    approvals = draft.get("approvals") or []
    lines = [
        f"{draft['id']}  {draft['kind']} on {draft['account_id']}"
        f"  status {draft['status']} (version {draft['version']})",
        f"proposed by {proposer.get('name', '?')} ({proposer.get('kind', '?')}) at {draft.get('created_at')}"
        f"; expires {draft.get('expires_at')}",
        f"reason: {draft.get('reason', '')}",
        "changes:",
        *(f"  {change_line(c)}" for c in draft.get("changes") or []),
        f"impact: {_signed(impact.get('daily_budget_delta', '0'))} {impact.get('currency', '')} daily budget",
        f"approvals: {len(approvals)} of {draft.get('required_approvals', 1)}"
        + (f" ({', '.join(a['principal'] for a in approvals)})" if approvals else ""),
    ]
    if draft.get("error"):
        lines.append(f"error: {draft['error']}")
    if draft.get("rollback_of"):
        lines.append(f"rolls back: {draft['rollback_of']}")
    if draft.get("url"):
        lines.append(f"console: {draft['url']}")
    lines.extend(decision_lines(draft.get("decision")))
    return "\n".join(lines)


def decision_lines(decision: dict[str, Any] | None) -> list[str]:
    """What the server's decision query says this caller may do next, and why not (as the console shows)."""
    if not decision:
        return []
    actions = decision.get("actions") or {}
    opened = [a for a in ("arm", "confirm", "reject", "rollback") if (actions.get(a) or {}).get("open")]
    lines = [f"you may: {', '.join(opened) if opened else 'nothing'}"]
    why_not = (actions.get("arm") or {}).get("reason")
    if why_not:
        lines.append(f"why not approve: {why_not}")
    return lines


def refusal(decision: dict[str, Any] | None, action: str) -> str | None:
    """The server's reason why `action` is closed for this caller, None when it is open (or not said)."""
    option = ((decision or {}).get("actions") or {}).get(action) or {}
    return None if option.get("open", True) else str(option.get("reason") or f"{action} is not open")


def _signed(amount: object) -> str:
    text = str(amount)
    return text if text.startswith("-") else f"+{text}"
