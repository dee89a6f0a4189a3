"""`spendgate principal add`: append a principal to the principals file and print its token once."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from spendgate_cli.exits import fail
from spendgate_core.domain.principals import (
    Principal,
    new_token,
    parse_principals,
    render_principal,
    token_digest,
)
from spendgate_core.errors import ConfigError

app = typer.Typer(help="Manage the principals file (who may call spendgate).", no_args_is_help=True)


class Kind(StrEnum):
    agent = "agent"
    human = "human"


class Scope(StrEnum):
    read = "mcp.read"
    draft = "mcp.draft"


class Role(StrEnum):
    viewer = "viewer"
    approver = "approver"
    admin = "admin"


TOKEN_PREFIX = {Kind.agent: "sga", Kind.human: "sgh"}


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="Unique name, shown in drafts and the ledger.")],
    kind: Annotated[Kind, typer.Option(help="agent (an AI client) or human (may approve, by role).")],
    file: Annotated[
        Path,
        typer.Option(envvar="SPENDGATE_PRINCIPALS_FILE", help="The principals file (created if missing)."),
    ],
    scope: Annotated[
        list[Scope] | None, typer.Option(help="Agent scope; repeat for several. Agents need at least one.")
    ] = None,
    role: Annotated[
        list[Role] | None, typer.Option(help="Human role; repeat for several. Humans need at least one.")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option(help="Account id this principal may see; repeat; '*' means all.")
    ] = None,
    slack_user_id: Annotated[
        str | None, typer.Option(help="This human's Slack user id (e.g. U0ALICE).")
    ] = None,
) -> None:
    """Add a principal and print its new bearer token on stdout (shown once; only its SHA-256 is stored)."""
    scopes = [s.value for s in scope or []]
    roles = [r.value for r in role or []]
    if kind is Kind.agent and (not scopes or roles or slack_user_id):
        fail("an agent needs --scope (mcp.read and/or mcp.draft) and takes no --role or --slack-user-id")
    if kind is Kind.human and (not roles or scopes):
        fail("a human needs --role (viewer, approver or admin) and takes no --scope")
    existing = _read_existing(file)
    if any(p.name == name for p in existing):
        fail(f"{file} already has a principal named {name!r}; pick another --name")
    token = new_token(TOKEN_PREFIX[kind])
    try:
        principal = Principal(
            name=name,
            kind=kind.value,
            token_sha256=token_digest(token),
            scopes=tuple(scopes),  # the enums above hold exactly the allowed values
            roles=tuple(roles),
            accounts=tuple(account or ["*"]),
            slack_user_id=slack_user_id,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        fail(f"invalid principal: {problems}")
    _append(file, render_principal(principal))
    granted = ", ".join(scopes or roles)
    typer.echo(
        f"added {kind.value} {name!r} ({granted}; accounts {', '.join(principal.accounts)}) to {file}.\n"
        "Its token follows on stdout. It is shown only this once: store it now.",
        err=True,
    )
    typer.echo(token)


def _read_existing(file: Path) -> list[Principal]:
    if not file.exists():
        return []
    try:
        return parse_principals(file.read_text("utf-8"), source=str(file))
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        fail(f"cannot add to {file}: {getattr(exc, 'message', exc)}")


def _append(file: Path, block: str) -> None:
    """Append `block` atomically: a service re-reading the file sees the old or the new one, never half."""
    old = file.read_text("utf-8") if file.exists() else ""
    new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block
    parse_principals(new, source=str(file))  # never write a file the services would refuse
    mode = file.stat().st_mode & 0o777 if file.exists() else 0o644
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        os.chmod(tmp, mode)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
