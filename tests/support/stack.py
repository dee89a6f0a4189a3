"""A configured spendgate world for tests: principals with known tokens, a ledger key, a policy file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic_settings import BaseSettings

from spendgate_cli.dev.state import DEFAULT_POLICY as DEFAULT_POLICY  # the policy `make run` writes
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.signing import generate_key_file
from spendgate_core.domain.principals import Principal, new_token, render_principal, token_digest

ADSIM_READ_TOKEN = "adsim-read-test-token"
ADSIM_WRITE_TOKEN = "adsim-write-test-token"
US, EU, JP = "acc_us_001", "acc_eu_002", "acc_jp_003"
# The key names of the services when SPENDGATE_REDIS_NAMESPACE is not set: for tests that build an
# adapter themselves or look into Redis.
KEYS = Keys("sg")


@dataclass(frozen=True)
class Tokens:
    agent: str  # mcp.read + mcp.draft on every account
    reader: str  # mcp.read only
    eu_agent: str  # mcp.read + mcp.draft on acc_eu_002 only
    alice: str  # human approver, Slack U0ALICE
    bob: str  # human approver, Slack U0BOB
    carol: str  # human admin of acc_eu_002 only
    viewer: str  # human viewer


def write_principals(path: Path) -> Tokens:
    tokens = Tokens(
        agent=new_token("sga"),
        reader=new_token("sga"),
        eu_agent=new_token("sga"),
        alice=new_token("sgh"),
        bob=new_token("sgh"),
        carol=new_token("sgh"),
        viewer=new_token("sgh"),
    )
    people = [
        Principal(
            name="claude",
            kind="agent",
            token_sha256=token_digest(tokens.agent),
            scopes=("mcp.read", "mcp.draft"),
            accounts=("*",),
        ),
        Principal(
            name="readonly-bot",
            kind="agent",
            token_sha256=token_digest(tokens.reader),
            scopes=("mcp.read",),
            accounts=("*",),
        ),
        Principal(
            name="eu-agent",
            kind="agent",
            token_sha256=token_digest(tokens.eu_agent),
            scopes=("mcp.read", "mcp.draft"),
            accounts=(EU,),
        ),
        Principal(
            name="alice@example.com",
            kind="human",
            token_sha256=token_digest(tokens.alice),
            roles=("approver",),
            accounts=("*",),
            slack_user_id="U0ALICE",
        ),
        Principal(
            name="bob@example.com",
            kind="human",
            token_sha256=token_digest(tokens.bob),
            roles=("approver",),
            accounts=("*",),
            slack_user_id="U0BOB",
        ),
        Principal(
            name="carol@example.com",
            kind="human",
            token_sha256=token_digest(tokens.carol),
            roles=("admin",),
            accounts=(EU,),
        ),
        Principal(
            name="victor@example.com",
            kind="human",
            token_sha256=token_digest(tokens.viewer),
            roles=("viewer",),
            accounts=("*",),
            slack_user_id="U0VIEWER",
        ),
    ]
    path.write_text("\n".join(render_principal(p) for p in people), "utf-8")
    return tokens


S = TypeVar("S", bound=BaseSettings)


@dataclass(frozen=True)
class World:
    """Files and environment for running spendgate services in a test."""

    tokens: Tokens
    principals_file: Path
    policy_file: Path
    ledger_key_file: Path
    redis_url: str
    adsim_url: str

    def settings(self, cls: type[S], **overrides: Any) -> S:
        """A service's settings pointing at this world, as its entrypoint would build them from env()."""
        values: dict[str, Any] = {
            "redis_url": self.redis_url,
            "principals_file": self.principals_file,
            "policy_file": self.policy_file,
            "ledger_key_file": self.ledger_key_file,
            "adsim_url": self.adsim_url,
            "adsim_read_token": ADSIM_READ_TOKEN,
            "public_url": "http://approvals.test",
        }
        return cls(**{**values, **overrides})

    def env(self) -> dict[str, str]:
        return {
            "SPENDGATE_REDIS_URL": self.redis_url,
            "SPENDGATE_PRINCIPALS_FILE": str(self.principals_file),
            "SPENDGATE_POLICY_FILE": str(self.policy_file),
            "SPENDGATE_LEDGER_KEY_FILE": str(self.ledger_key_file),
            "SPENDGATE_ADSIM_URL": self.adsim_url,
            "SPENDGATE_ADSIM_READ_TOKEN": ADSIM_READ_TOKEN,
            "SPENDGATE_ADSIM_WRITE_TOKEN": ADSIM_WRITE_TOKEN,
        }


def make_world(directory: Path, *, redis_url: str, adsim_url: str, policy: str = DEFAULT_POLICY) -> World:
    directory.mkdir(parents=True, exist_ok=True)
    principals_file = directory / "principals.toml"
    policy_file = directory / "policy.toml"
    ledger_key_file = directory / "ledger.pem"
    tokens = write_principals(principals_file)
    policy_file.write_text(policy, "utf-8")
    if not ledger_key_file.exists():
        generate_key_file(ledger_key_file)
    return World(tokens, principals_file, policy_file, ledger_key_file, redis_url, adsim_url)
