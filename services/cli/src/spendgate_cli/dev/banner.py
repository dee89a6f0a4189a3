"""What `spendgate dev` prints once the stack is healthy, and the `tokens.env` it writes beside it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from spendgate_cli.dev.stack import Ports
from spendgate_cli.dev.state import DevState


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is below it (shorter, copy-pasteable)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def claude_code_snippet(ports: Ports, token: str) -> str:
    return (
        f'claude mcp add --transport http spendgate {ports.mcp_url} --header "Authorization: Bearer {token}"'
    )


def claude_desktop_snippet(ports: Ports, token: str) -> str:
    # mcp-remote bridges Claude Desktop's stdio to HTTP. The header value goes through an env var with
    # no space after the colon: Claude Desktop on Windows mangles arguments that contain spaces.
    config = {
        "mcpServers": {
            "spendgate": {
                "command": "npx",
                "args": ["-y", "mcp-remote", ports.mcp_url, "--header", "Authorization:${AUTH_HEADER}"],
                "env": {"AUTH_HEADER": f"Bearer {token}"},
            }
        }
    }
    return json.dumps(config, indent=2)


def inspector_snippet(ports: Ports, token: str) -> str:
    return (
        f"npx @modelcontextprotocol/inspector --cli {ports.mcp_url} "
        f'--header "Authorization: Bearer {token}" --method tools/list'
    )


def render_banner(state: DevState, ports: Ports, *, redis_url: str, redis_note: str) -> str:
    t = state.tokens
    people = state.people()
    width = max(len(p.name) for p in people)
    lines = [
        "",
        "spendgate dev is up. Ctrl-C stops everything it started.",
        "",
        f"  MCP endpoint     {ports.mcp_url}",
        f"  Web console      {ports.console_url}   (log in with a human token)",
        f"  Approval API     {ports.approvals_url}/v1/drafts",
        f"  adsim sandbox    {ports.adsim_url}   (every write: {ports.adsim_url}/_sim/writes)",
        f"  Worker metrics   {ports.url(ports.worker_metrics)}/metrics",
        f"  Redis            {redis_url}   ({redis_note})",
        f"  State            {_shown(state.root)}/   logs in {_shown(state.logs)}/<service>.log",
        "",
        f"Tokens (fresh this run; also in {_shown(state.tokens_env)}):",
        *(f"  {p.name.ljust(width)}  {p.kind:<5}  {p.token}   {p.grants}" for p in people),
        "",
        "Claude Code:",
        f"  {claude_code_snippet(ports, t.claude)}",
        "",
        "Claude Desktop (claude_desktop_config.json):",
        *(f"  {line}" for line in claude_desktop_snippet(ports, t.claude).splitlines()),
        "",
        "MCP Inspector (CLI):",
        f"  {inspector_snippet(ports, t.claude)}",
        "",
        "Approve drafts from another terminal (as alice; bob is the second approver):",
        f"  source {_shown(state.tokens_env)}      # or: export SPENDGATE_TOKEN={t.alice}",
        "  uv run spendgate drafts list",
        "  uv run spendgate drafts approve <draft_id>",
        "",
    ]
    return "\n".join(lines)


def render_tokens_env(
    state: DevState, ports: Ports, *, redis_url: str, redis_namespace: str | None = None
) -> str:
    """Shell lines to `source`: URLs, every token, and what the operator commands need (`spendgate audit`
    reads the ledger under the stack's Redis namespace, so a namespace the stack was given goes in too)."""
    q = shlex.quote
    values = {
        "SPENDGATE_MCP_URL": ports.mcp_url,
        "SPENDGATE_APPROVALS_URL": ports.approvals_url,
        "SPENDGATE_ADSIM_URL": ports.adsim_url,
        "SPENDGATE_REDIS_URL": redis_url,
        **({"SPENDGATE_REDIS_NAMESPACE": redis_namespace} if redis_namespace else {}),
        "SPENDGATE_PRINCIPALS_FILE": str(state.principals_file),
        "SPENDGATE_POLICY_FILE": str(state.policy_file),
        "SPENDGATE_LEDGER_KEY_FILE": str(state.ledger_key_file),
        **{p.env_name: p.token for p in state.people()},
    }
    lines = [
        "# Written by `spendgate dev`; every run makes new tokens, so source this again after a restart.",
        "# Holds bearer tokens: keep it private (mode 0600), never commit it.",
        *(f"export {name}={q(value)}" for name, value in values.items()),
        "# The approver CLI (`spendgate drafts …`) acts as alice;",
        "# `export SPENDGATE_TOKEN=$BOB_TOKEN` to act as bob.",
        'export SPENDGATE_TOKEN="$ALICE_TOKEN"',
        "",
    ]
    return "\n".join(lines)
