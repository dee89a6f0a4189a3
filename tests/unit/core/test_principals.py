"""Principals file: digests only, clear errors, reload on change."""

from pathlib import Path

import pytest

from spendgate_core.domain.principals import (
    Principal,
    PrincipalDirectory,
    parse_principals,
    render_principal,
    token_digest,
)
from spendgate_core.errors import ConfigError


def human(name: str, token: str, roles: tuple[str, ...] = ("approver",)) -> Principal:
    return Principal(name=name, kind="human", token_sha256=token_digest(token), roles=roles, accounts=("*",))  # type: ignore[arg-type]


def test_round_trip_and_lookup(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(render_principal(human("alice", "t-alice")))
    directory = PrincipalDirectory(path)
    alice = directory.authenticate("t-alice")
    assert alice is not None and alice.may_decide("acc_us_001")
    assert directory.authenticate("t-wrong") is None
    assert directory.authenticate("") is None
    assert "t-alice" not in path.read_text()  # only the digest is stored


def test_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(render_principal(human("alice", "t-alice")))
    directory = PrincipalDirectory(path)
    with path.open("a") as f:
        f.write(render_principal(human("bob", "t-bob", ("viewer",))))
    import os

    os.utime(path, ns=(1, 10**18))  # make the change visible even on coarse mtime filesystems
    bob = directory.authenticate("t-bob")
    assert bob is not None and not bob.may_decide("acc_us_001") and bob.sees("acc_us_001")


def test_agents_never_decide() -> None:
    agent = Principal(
        name="a",
        kind="agent",
        token_sha256=token_digest("x"),
        scopes=("mcp.read",),
        roles=("admin",),
        accounts=("*",),
    )
    assert not agent.may_decide("acc_us_001")


@pytest.mark.parametrize(
    "text",
    [
        '[[principal]]\nname = "x"\nkind = "robot"\ntoken_sha256 = "' + "0" * 64 + '"\n',
        '[[principal]]\nname = "x"\nkind = "human"\ntoken_sha256 = "short"\n',
        "[[principal]\n",
    ],
)
def test_malformed_file_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="malformed"):
        parse_principals(text, source="f")
