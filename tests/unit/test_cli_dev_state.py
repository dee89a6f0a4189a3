"""`spendgate dev`'s files and plan: fresh tokens, kept policy and key, least-privilege env, banner text."""

from __future__ import annotations

import subprocess
from pathlib import Path

from spendgate_cli.dev.banner import render_banner, render_tokens_env
from spendgate_cli.dev.stack import Ports, plan
from spendgate_cli.dev.state import DEFAULT_POLICY, prepare_state
from spendgate_core.contracts.signing import load_signing_key
from spendgate_core.domain.policy import Limits, PolicyBook
from spendgate_core.domain.principals import PrincipalDirectory


def test_writes_dev_principals_with_working_fresh_tokens(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    assert state.root.stat().st_mode & 0o777 == 0o700
    assert state.principals_file.stat().st_mode & 0o777 == 0o600
    directory = PrincipalDirectory(state.principals_file)
    t = state.tokens
    claude = directory.authenticate(t.claude)
    reader = directory.authenticate(t.readonly)
    alice = directory.authenticate(t.alice)
    bob = directory.authenticate(t.bob)
    assert claude is not None and claude.name == "claude" and claude.scopes == ("mcp.read", "mcp.draft")
    assert reader is not None and reader.name == "readonly-bot" and reader.scopes == ("mcp.read",)
    assert alice is not None and alice.may_decide("acc_us_001") and alice.slack_user_id == "U0ALICE"
    assert bob is not None and bob.may_decide("acc_jp_003") and bob.name == "bob@example.com"
    assert len({t.claude, t.readonly, t.alice, t.bob, t.adsim_read, t.adsim_write}) == 6
    assert (state.root / ".gitignore").read_text() == "*\n"


def test_every_run_makes_new_tokens_but_keeps_policy_and_ledger_key(tmp_path: Path) -> None:
    first = prepare_state(tmp_path / ".dev")
    key = first.ledger_key_file.read_bytes()
    first.policy_file.write_text(DEFAULT_POLICY.replace("max_change_pct = 50", "max_change_pct = 20"))
    second = prepare_state(tmp_path / ".dev")
    assert second.tokens.claude != first.tokens.claude
    assert PrincipalDirectory(second.principals_file).authenticate(first.tokens.claude) is None
    assert second.ledger_key_file.read_bytes() == key
    assert "max_change_pct = 20" in second.policy_file.read_text()


def test_policy_and_key_are_valid(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    book = PolicyBook.load(state.policy_file)
    us, jp = (
        Limits.of(book.for_account("acc_us_001"), "USD"),
        Limits.of(book.for_account("acc_jp_003"), "JPY"),
    )
    assert us.max_daily_budget == 1_000_000  # 10000.00 USD in cents
    assert jp.max_daily_budget == 1_000_000  # yen have no minor unit
    load_signing_key(state.ledger_key_file)
    assert state.ledger_key_file.stat().st_mode & 0o777 == 0o600


def test_each_service_gets_only_the_credentials_it_needs(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    inherited = {"PATH": "/usr/bin", "SPENDGATE_ADSIM_WRITE_TOKEN": "leaked", "SPENDGATE_TOKEN": "human"}
    services = {
        s.name: s
        for s in plan(state, Ports(), redis_url="redis://127.0.0.1:6380/0", seed=7, environ=inherited)
    }
    assert list(services) == ["adsim", "gateway", "approvals", "worker"]
    gateway, approvals, worker, adsim = (services[n].env for n in ("gateway", "approvals", "worker", "adsim"))
    for env in (gateway, approvals):
        assert env["SPENDGATE_ADSIM_READ_TOKEN"] == state.tokens.adsim_read
        assert "SPENDGATE_ADSIM_WRITE_TOKEN" not in env
    assert worker["SPENDGATE_ADSIM_WRITE_TOKEN"] == state.tokens.adsim_write
    assert "SPENDGATE_ADSIM_READ_TOKEN" not in worker
    assert worker["SPENDGATE_METRICS_HOST"] == "127.0.0.1"
    assert adsim["SPENDGATE_ADSIM_WRITE_TOKEN"] == state.tokens.adsim_write
    for env in (s.env for s in services.values()):
        assert "SPENDGATE_TOKEN" not in env
        assert env["PATH"] == "/usr/bin"
        assert env["SPENDGATE_REDIS_URL"] == "redis://127.0.0.1:6380/0"
        assert env["SPENDGATE_PRINCIPALS_FILE"] == str(state.principals_file)
        assert env["SPENDGATE_PUBLIC_URL"] == "http://127.0.0.1:8081"
    assert services["adsim"].argv[-4:] == ["--port", "8090", "--seed", "7"]
    assert services["gateway"].health_url == "http://127.0.0.1:8080/healthz"
    assert services["worker"].health_url == "http://127.0.0.1:9102/healthz"


def test_banner_names_every_url_token_and_client_snippet(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    ports = Ports(gateway=18080, approvals=18081)
    banner = render_banner(state, ports, redis_url="redis://127.0.0.1:6380/0", redis_note="private")
    t = state.tokens
    assert "http://127.0.0.1:18080/mcp" in banner
    assert "http://127.0.0.1:18081/console/" in banner
    for name, token in [
        ("claude", t.claude),
        ("readonly-bot", t.readonly),
        ("alice@example.com", t.alice),
        ("bob@example.com", t.bob),
    ]:
        line = next(line for line in banner.splitlines() if token in line and name in line)
        assert line.strip().startswith(name)
    assert (
        f"claude mcp add --transport http spendgate http://127.0.0.1:18080/mcp "
        f'--header "Authorization: Bearer {t.claude}"'
    ) in banner
    assert f'"AUTH_HEADER": "Bearer {t.claude}"' in banner and '"mcp-remote"' in banner
    assert (
        f"npx @modelcontextprotocol/inspector --cli http://127.0.0.1:18080/mcp "
        f'--header "Authorization: Bearer {t.claude}" --method tools/list'
    ) in banner
    assert t.adsim_write not in banner  # the write credential stays with the services


def test_tokens_env_sources_in_bash(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    env_file = tmp_path / "tokens.env"
    env_file.write_text(render_tokens_env(state, Ports(), redis_url="redis://127.0.0.1:6380/0"))
    script = (
        f"source {env_file} && echo $SPENDGATE_TOKEN $CLAUDE_TOKEN $BOB_TOKEN $SPENDGATE_MCP_URL "
        "$SPENDGATE_APPROVALS_URL $SPENDGATE_LEDGER_KEY_FILE $SPENDGATE_REDIS_URL"
    )
    out = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True, env={}
    ).stdout.split()
    assert out == [
        state.tokens.alice,
        state.tokens.claude,
        state.tokens.bob,
        "http://127.0.0.1:8080/mcp",
        "http://127.0.0.1:8081",
        str(state.ledger_key_file),
        "redis://127.0.0.1:6380/0",
    ]


def test_tokens_env_carries_the_stack_redis_namespace(tmp_path: Path) -> None:
    state = prepare_state(tmp_path / ".dev")
    env_file = tmp_path / "tokens.env"
    text = render_tokens_env(state, Ports(), redis_url="redis://127.0.0.1:6380/0", redis_namespace="{tenant}")
    env_file.write_text(text)
    out = subprocess.run(
        ["bash", "-c", f"source {env_file} && echo $SPENDGATE_REDIS_NAMESPACE"],
        capture_output=True,
        text=True,
        check=True,
        env={},
    ).stdout.split()
    assert out == ["{tenant}"]
    assert "SPENDGATE_REDIS_NAMESPACE" not in render_tokens_env(state, Ports(), redis_url="redis://x")
