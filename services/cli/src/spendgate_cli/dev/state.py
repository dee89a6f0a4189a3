"""The dev state directory (`.dev/`): principals with fresh tokens, policy, ledger key, tokens.env.

Tokens are new on every run (a leaked dev token dies with the run); the policy file and the ledger key
are kept when present, so edits to the policy and the ledger's signatures survive restarts.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from spendgate_core.contracts.signing import generate_key_file
from spendgate_core.domain.principals import Principal, new_token, render_principal, token_digest

# The policy defaults (README, "Configuration reference"); JPY has no minor unit, so its money limits
# are whole yen of a similar size.
DEFAULT_POLICY = """\
# spendgate policy. Money is a decimal string in the account's currency.
# `spendgate dev` writes this file once; edit it and restart to try other limits.
[defaults]
max_change_pct = 50
max_daily_budget = "10000.00"
envelope_24h = "2000.00"
second_approver_above = "500.00"
draft_ttl_hours = 48
arm_window_seconds = 120
max_pending_drafts = 25

[accounts."acc_jp_003"]
max_daily_budget = "1000000"
envelope_24h = "300000"
second_approver_above = "50000"
"""


@dataclass(frozen=True)
class DevTokens:
    claude: str  # agent: mcp.read + mcp.draft, every account
    readonly: str  # agent: mcp.read only
    alice: str  # human approver (Slack U0ALICE)
    bob: str  # human approver
    adsim_read: str  # given to adsim, the gateway and approvals
    adsim_write: str  # given to adsim and the worker only

    @classmethod
    def fresh(cls) -> DevTokens:
        return cls(
            claude=new_token("sga"),
            readonly=new_token("sga"),
            alice=new_token("sgh"),
            bob=new_token("sgh"),
            adsim_read=f"adsim_r_{secrets.token_urlsafe(24)}",
            adsim_write=f"adsim_w_{secrets.token_urlsafe(24)}",
        )


@dataclass(frozen=True)
class Who:
    """One dev principal as the banner describes it."""

    name: str
    kind: str
    grants: str
    token: str
    env_name: str


@dataclass(frozen=True)
class DevState:
    root: Path
    tokens: DevTokens

    @property
    def principals_file(self) -> Path:
        return self.root / "principals.toml"

    @property
    def policy_file(self) -> Path:
        return self.root / "policy.toml"

    @property
    def ledger_key_file(self) -> Path:
        return self.root / "ledger-key.pem"

    @property
    def tokens_env(self) -> Path:
        return self.root / "tokens.env"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    def log_path(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def people(self) -> list[Who]:
        t = self.tokens
        return [
            Who("claude", "agent", "mcp.read + mcp.draft, all accounts", t.claude, "CLAUDE_TOKEN"),
            Who("readonly-bot", "agent", "mcp.read only, all accounts", t.readonly, "READONLY_TOKEN"),
            Who(
                "alice@example.com", "human", "approver, all accounts, Slack U0ALICE", t.alice, "ALICE_TOKEN"
            ),
            Who("bob@example.com", "human", "approver, all accounts", t.bob, "BOB_TOKEN"),
        ]


def dev_principals(tokens: DevTokens) -> list[Principal]:
    return [
        Principal(
            name="claude", kind="agent", token_sha256=token_digest(tokens.claude),
            scopes=("mcp.read", "mcp.draft"), accounts=("*",),
        ),
        Principal(
            name="readonly-bot", kind="agent", token_sha256=token_digest(tokens.readonly),
            scopes=("mcp.read",), accounts=("*",),
        ),
        Principal(
            name="alice@example.com", kind="human", token_sha256=token_digest(tokens.alice),
            roles=("approver",), accounts=("*",), slack_user_id="U0ALICE",
        ),
        Principal(
            name="bob@example.com", kind="human", token_sha256=token_digest(tokens.bob),
            roles=("approver",), accounts=("*",),
        ),
    ]  # fmt: skip


def prepare_state(root: Path, tokens: DevTokens | None = None) -> DevState:
    """Create `root` (owner-only), write fresh principals, and the policy and ledger key if missing."""
    state = DevState(root=root.resolve(), tokens=tokens or DevTokens.fresh())
    state.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    state.logs.mkdir(exist_ok=True)
    state.redis_dir.mkdir(exist_ok=True)
    # In case the state dir is not the repo's (gitignored) .dev/: never let tokens reach a commit.
    write_file(state.root / ".gitignore", "*\n", mode=0o644)
    principals = "\n".join(render_principal(p) for p in dev_principals(state.tokens))
    write_file(state.principals_file, principals, mode=0o600)
    if not state.policy_file.exists():
        write_file(state.policy_file, DEFAULT_POLICY, mode=0o644)
    if not state.ledger_key_file.exists():
        generate_key_file(state.ledger_key_file)
    return state


def write_file(path: Path, text: str, *, mode: int) -> None:
    """Replace `path` atomically with `text`, created with `mode` (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), mode)
        handle.write(text)
    os.replace(tmp, path)
