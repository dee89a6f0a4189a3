"""`spendgate drafts …`: the approver's CLI over the approval REST API; `approve` is arm, then confirm.

Exit codes (see exits.py): 0 done, 1 the server refused or the approver declined, 2 usage/config.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spendgate_cli.exits import REFUSED, USAGE, fail
from spendgate_cli.render import draft_diff, draft_table, refusal
from spendgate_core.domain.ids import is_draft_id

if TYPE_CHECKING:
    from spendgate_cli.api import ApprovalsClient

DEFAULT_URL = "http://127.0.0.1:8081"

app = typer.Typer(
    help="Review and decide drafts (token from SPENDGATE_TOKEN; a human approver's token).",
    no_args_is_help=True,
)

Url = Annotated[
    str, typer.Option("--url", envvar="SPENDGATE_APPROVALS_URL", help="Base URL of the approval service.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the server's JSON instead of text.")]


def _draft_id(value: str) -> str:
    """Refuse anything but a draft id before it becomes part of a URL (`../audit` would be one too)."""
    if not is_draft_id(value):
        fail(f"{value[:60]!r} is not a draft id: drf_ and 26 letters and digits, as `drafts list` shows")
    return value


DraftId = Annotated[str, typer.Argument(help="The draft id (drf_…).", callback=_draft_id)]


class Status(StrEnum):
    pending = "pending"
    armed = "armed"
    approved = "approved"
    applying = "applying"
    applied = "applied"
    apply_failed = "apply_failed"
    stale = "stale"
    rejected = "rejected"
    withdrawn = "withdrawn"
    expired = "expired"
    rolled_back = "rolled_back"


@contextmanager
def _client(url: str) -> Iterator[ApprovalsClient]:
    from spendgate_cli.api import ApiError, ApiUnreachable, ApprovalsClient  # httpx only when talking

    token = os.environ.get("SPENDGATE_TOKEN", "").strip()
    if not token:
        fail("set SPENDGATE_TOKEN to your approver token (e.g. `source .dev/tokens.env` after `make run`)")
    if not (token.isascii() and token.isprintable()) or " " in token:
        # It goes into an HTTP header: anything else could not even be sent.
        fail("SPENDGATE_TOKEN is not a spendgate token (printable ASCII, no spaces); copy it again")
    try:
        with ApprovalsClient(url=url, token=token) as client:
            yield client
    except ApiUnreachable as exc:
        fail(f"{exc}; is the approval service running? (--url / SPENDGATE_APPROVALS_URL)", code=USAGE)
    except ApiError as exc:
        fail(f"refused ({exc.status} {exc.code}): {exc.message}", code=REFUSED)


def _emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _ask(question: str) -> bool:
    """y/N on stderr (so --json output stays clean); only y/yes is yes; no stdin at all is a usage error.

    Not click's confirm: with err=True it still writes part of the prompt to stdout.
    """
    typer.echo(f"{question} [y/N]: ", err=True, nl=False)
    line = sys.stdin.readline()
    if not line:
        typer.echo("", err=True)
        fail("no answer on stdin; pass --yes to decide without prompts", code=USAGE)
    if not sys.stdin.isatty():
        typer.echo(line.strip(), err=True)  # a piped answer is not echoed by a terminal; show it
    return line.strip().lower() in ("y", "yes")


@app.command("list")
def list_drafts(
    url: Url = DEFAULT_URL,
    status: Annotated[Status | None, typer.Option(help="Only drafts in this status.")] = None,
    account: Annotated[str | None, typer.Option(help="Only drafts of this account id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="At most this many drafts.")] = 50,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the draft ids, one per line.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """List drafts you may see, newest first."""
    with _client(url) as client:
        drafts = client.list_drafts(status=status.value if status else None, account_id=account, limit=limit)
    if as_json:
        _emit_json(drafts)
    elif quiet:
        for draft in drafts:
            typer.echo(draft["id"])
    else:
        typer.echo(draft_table(drafts))


@app.command("show")
def show(draft_id: DraftId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Show one draft: its diff, impact and approvals."""
    with _client(url) as client:
        draft, _ = client.get_draft(draft_id)
    typer.echo(json.dumps(draft, indent=2, sort_keys=True) if as_json else draft_diff(draft))


@app.command("approve")
def approve(
    draft_id: DraftId,
    url: Url = DEFAULT_URL,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Arm and confirm without asking.")] = False,
    as_json: AsJson = False,
) -> None:
    """Two-step approval: show the diff, ask, arm (bound to this version), ask again, confirm."""
    with _client(url) as client:
        draft, etag = client.get_draft(draft_id)
        typer.echo(draft_diff(draft), err=as_json)
        why_not = refusal(draft.get("decision"), "arm")
        if why_not is not None:  # the same reason REST, the console and Slack give
            fail(why_not, code=REFUSED)
        if not yes and not _ask(f"Arm draft {draft_id} (version {draft['version']})?"):
            fail("not armed; nothing changed", code=REFUSED)
        armed = client.arm(draft_id, etag=etag)
        typer.echo(f"armed; confirm before {armed.get('confirm_before')}", err=as_json)
        if not yes and not _ask("Confirm — push live?"):
            fail("armed but not confirmed; the arm lapses by itself at its deadline", code=REFUSED)
        decided = client.confirm(draft_id, confirm_token=str(armed["confirm_token"]))
    if as_json:
        _emit_json(decided)
        return
    result = decided.get("draft", decided)
    if result.get("status") == Status.approved:
        typer.echo(f"approved: {draft_id} is queued; the worker applies it now")
    else:
        have, need = len(result.get("approvals") or []), result.get("required_approvals", 1)
        next_step = refusal(result.get("decision"), "arm") or "another approver must arm and confirm"
        typer.echo(f"your approval is recorded ({have} of {need}): {next_step}")


@app.command("reject")
def reject(
    draft_id: DraftId,
    reason: Annotated[str, typer.Option(help="Why, for the proposer and the ledger.")],
    url: Url = DEFAULT_URL,
    as_json: AsJson = False,
) -> None:
    """Reject a pending draft."""
    with _client(url) as client:
        decided = client.reject(draft_id, reason=reason)
    typer.echo(json.dumps(decided, indent=2, sort_keys=True) if as_json else f"rejected: {draft_id}")


@app.command("rollback")
def rollback(draft_id: DraftId, url: Url = DEFAULT_URL, as_json: AsJson = False) -> None:
    """Stage a rollback of an applied draft; the rollback then needs its own two-step approval."""
    with _client(url) as client:
        created = client.rollback(draft_id)
    if as_json:
        _emit_json(created)
        return
    new = created.get("draft", created)
    typer.echo(draft_diff(new))
    typer.echo(f"rollback staged as {new['id']}; another approver runs: spendgate drafts approve {new['id']}")
