"""The `spendgate` command surface: the SPEC §3 commands, usage errors (exit 2), readable drafts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spendgate_cli.main import build_app
from spendgate_cli.render import draft_diff, draft_table
from spendgate_core.contracts.views import draft_view
from spendgate_core.domain.models import (
    Actor,
    Approval,
    Change,
    ChangeField,
    Draft,
    DraftKind,
    DraftStatus,
    Impact,
)

runner = CliRunner()


def test_every_spec_command_is_there() -> None:
    top = runner.invoke(build_app(), ["--help"], env={"COLUMNS": "200"})
    assert top.exit_code == 0
    for command in ("gateway", "approvals", "worker", "adsim", "dev", "drafts", "audit", "principal"):
        assert f"\n  {command} " in top.stdout
    for group, subs in {
        "drafts": ("list", "show", "approve", "reject", "rollback"),
        "audit": ("verify", "export"),
        "principal": ("add",),
    }.items():
        help_text = runner.invoke(build_app(), [group, "--help"], env={"COLUMNS": "200"}).stdout
        for sub in subs:
            assert f"\n  {sub} " in help_text


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("gateway", ["--host", "--port"]),
        ("approvals", ["--host", "--port"]),
        ("worker", ["--burst", "--metrics-port"]),
        ("adsim", ["--host", "--port", "--seed"]),
        ("dev", ["--check", "--gateway-port", "--state-dir"]),
    ],
)
def test_service_commands_take_the_spec_options(command: str, options: list[str]) -> None:
    result = runner.invoke(build_app(), [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in options:
        assert option in result.stdout


def test_a_bad_port_is_a_usage_error() -> None:
    result = runner.invoke(build_app(), ["gateway", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in result.stderr and "65535" in result.stderr


def test_dev_refuses_two_services_on_one_port(tmp_path: Path) -> None:
    result = runner.invoke(
        build_app(),
        ["dev", "--state-dir", str(tmp_path), "--gateway-port", "18000", "--approvals-port", "18000"],
    )
    assert result.exit_code == 2
    assert "share a port" in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before writing anything


def test_drafts_needs_a_token() -> None:
    result = runner.invoke(build_app(), ["drafts", "list"], env={"SPENDGATE_TOKEN": ""})
    assert result.exit_code == 2
    assert "SPENDGATE_TOKEN" in result.stderr


def test_audit_needs_the_ledger_key_setting() -> None:
    result = runner.invoke(build_app(), ["audit", "verify"], env={"SPENDGATE_LEDGER_KEY_FILE": None})
    assert result.exit_code == 2
    assert "SPENDGATE_LEDGER_KEY_FILE" in result.stderr


def test_audit_refuses_a_missing_key_file(tmp_path: Path) -> None:
    result = runner.invoke(
        build_app(), ["audit", "verify"], env={"SPENDGATE_LEDGER_KEY_FILE": str(tmp_path / "nope.pem")}
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def _draft(**update: object) -> Draft:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    draft = Draft(
        id="drf_01JTESTTESTTESTTESTTESTTEST",
        account_id="acc_us_001",
        platform="adsim",
        kind=DraftKind.BUDGET_CHANGE,
        changes=(Change(entity_id="cmp_us_001", field=ChangeField.DAILY_BUDGET, before=10000, after=12500),),
        impact=Impact(daily_budget_delta=2500, currency="USD"),
        reason="strong ROAS",
        proposed_by=Actor(name="claude", kind="agent"),
        created_at=now,
        expires_at=now + timedelta(hours=48),
    )
    return draft.model_copy(update=update)


def test_a_draft_diff_shows_what_an_approver_must_see() -> None:
    text = draft_diff(draft_view(_draft(), url="http://127.0.0.1:8081/console/drafts/drf_x"))
    assert "drf_01JTESTTESTTESTTESTTESTTEST  budget_change on acc_us_001  status pending (version 1)" in text
    assert "cmp_us_001 daily_budget: 100.00 → 125.00  (+25.00)" in text
    assert "impact: +25.00 USD daily budget" in text
    assert "proposed by claude (agent)" in text
    assert "reason: strong ROAS" in text
    assert "approvals: 0 of 1" in text
    assert "console: http://127.0.0.1:8081/console/drafts/drf_x" in text


def test_a_draft_table_lines_up_and_summarises_multi_change_drafts() -> None:
    now = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    shift = _draft(
        kind=DraftKind.BUDGET_SHIFT,
        status=DraftStatus.APPLIED,
        changes=(
            Change(entity_id="cmp_us_001", field=ChangeField.DAILY_BUDGET, before=10000, after=9000),
            Change(entity_id="cmp_us_002", field=ChangeField.DAILY_BUDGET, before=5000, after=6000),
        ),
        impact=Impact(daily_budget_delta=0, currency="USD"),
        approvals=(Approval(principal="alice@example.com", channel="cli", armed_at=now, confirmed_at=now),),
    )
    lines = draft_table([draft_view(_draft()), draft_view(shift)]).splitlines()
    assert lines[0].split() == ["ID", "STATUS", "ACCOUNT", "KIND", "CHANGE", "BY", "CREATED"]
    assert "cmp_us_001 daily_budget: 100.00 → 90.00  (-10.00) (+1 more)" in lines[2]
    assert lines[1].index("pending") == lines[2].index("applied")
    assert draft_table([]) == "no drafts"
    assert "approvals: 1 of 1 (alice@example.com)" in draft_diff(draft_view(shift))


def test_spendgate_gateway_never_imports_the_queue_or_the_write_path() -> None:
    """Fresh interpreter: `spendgate gateway` (refusing bad config) loads no RQ, executor or writer."""
    probe = (
        "import sys\n"
        "from spendgate_cli.main import build_app\n"
        "try:\n"
        "    build_app()(['gateway'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 2, exit.code\n"
        "roots = ('rq', 'spendgate_executor', 'spendgate_approvals')\n"
        "writer = 'spendgate_core.usecases.platform_writer'\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in roots or m == writer]\n"
        "print(bad)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "SPENDGATE_PRINCIPALS_FILE" in done.stderr  # it did try to start, and refused in one line
