"""`spendgate principal add`: appends a principal, prints its token once, refuses bad input (exit 2)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from spendgate_cli.main import build_app
from spendgate_core.domain.principals import PrincipalDirectory, parse_principals


def add(options: str, *more: str, env: dict[str, str] | None = None) -> Result:
    """`spendgate principal add` with `options` (shell words) and `more` (verbatim, e.g. paths)."""
    return CliRunner().invoke(build_app(), ["principal", "add", *shlex.split(options), *more], env=env)


def test_adds_an_agent_and_prints_a_token_that_authenticates(tmp_path: Path) -> None:
    file = tmp_path / "principals.toml"
    result = add(
        "--name cursor --kind agent --scope mcp.read --scope mcp.draft --account acc_us_001",
        "--file",
        str(file),
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("sga_") and "\n" not in token
    assert "shown only this once" in result.stderr
    assert token not in file.read_text()  # only the digest is stored
    principal = PrincipalDirectory(file).authenticate(token)
    assert principal is not None
    assert (principal.name, principal.kind, principal.scopes, principal.accounts) == (
        "cursor",
        "agent",
        ("mcp.read", "mcp.draft"),
        ("acc_us_001",),
    )


def test_appends_a_human_to_an_existing_file_and_reads_the_file_from_the_env(tmp_path: Path) -> None:
    file = tmp_path / "principals.toml"
    assert add("--name bot --kind agent --scope mcp.read", "--file", str(file)).exit_code == 0
    human = "--name dana@example.com --kind human --role approver --slack-user-id U0DANA"
    result = add(human, env={"SPENDGATE_PRINCIPALS_FILE": str(file)})
    assert result.exit_code == 0, result.stderr
    people = parse_principals(file.read_text(), source="test")
    assert [p.name for p in people] == ["bot", "dana@example.com"]
    dana = people[1]
    assert (dana.kind, dana.roles, dana.accounts) == ("human", ("approver",), ("*",))
    assert dana.slack_user_id == "U0DANA"
    assert PrincipalDirectory(file).authenticate(result.stdout.strip()) == dana


def test_refuses_a_duplicate_name_and_leaves_the_file_alone(tmp_path: Path) -> None:
    file = tmp_path / "principals.toml"
    add("--name bot --kind agent --scope mcp.read", "--file", str(file))
    before = file.read_text()
    result = add("--name bot --kind agent --scope mcp.draft", "--file", str(file))
    assert result.exit_code == 2
    assert "already has a principal named 'bot'" in result.stderr
    assert result.stdout == ""  # no token for a principal that was not added
    assert file.read_text() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "agent"], "an agent needs --scope"),
        (["--kind", "agent", "--scope", "mcp.read", "--role", "approver"], "takes no --role"),
        (["--kind", "agent", "--scope", "mcp.read", "--slack-user-id", "U1"], "--slack-user-id"),
        (["--kind", "human"], "a human needs --role"),
        (["--kind", "human", "--role", "approver", "--scope", "mcp.read"], "takes no --scope"),
        (["--kind", "robot", "--scope", "mcp.read"], "'robot' is not one of"),
        (["--kind", "agent", "--scope", "mcp.approve"], "'mcp.approve' is not one of"),
        (["--kind", "human", "--role", "approver", "--account", ""], "account ids must be non-empty"),
    ],
)
def test_refuses_bad_combinations_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    file = tmp_path / "principals.toml"
    result = add("--name x", *args, "--file", str(file))
    assert result.exit_code == 2
    assert message in result.stderr
    assert not file.exists()


def test_needs_a_file(tmp_path: Path) -> None:
    result = add("--name x --kind agent --scope mcp.read", env={"SPENDGATE_PRINCIPALS_FILE": ""})
    assert result.exit_code == 2
    assert "--file" in result.stderr


def test_refuses_to_extend_a_malformed_file(tmp_path: Path) -> None:
    file = tmp_path / "principals.toml"
    file.write_text("[[principal]]\nname = 'half'\n")
    result = add("--name x --kind agent --scope mcp.read", "--file", str(file))
    assert result.exit_code == 2
    assert "is malformed" in result.stderr
    assert file.read_text() == "[[principal]]\nname = 'half'\n"


def test_keeps_the_file_mode(tmp_path: Path) -> None:
    file = tmp_path / "principals.toml"
    file.write_text("")
    file.chmod(0o640)
    assert add("--name x --kind agent --scope mcp.read", "--file", str(file)).exit_code == 0
    assert file.stat().st_mode & 0o777 == 0o640
    assert list(tmp_path.iterdir()) == [file]  # no temp file left behind
