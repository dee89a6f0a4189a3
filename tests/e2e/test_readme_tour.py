"""The README's 5-minute tour, run verbatim against `spendgate dev`: every command a new user pastes works."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import INSPECTOR, ROOT
from tests.e2e.flows import spendgate_binary
from tests.support.processes import free_ports, stop, wait_for_http
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def tour_script() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 7, "the tour lost its code blocks"
    return "\n".join(blocks)


@pytest.mark.timeout(300)
def test_the_readme_tour_works_verbatim(tmp_path: Path) -> None:
    if shutil.which("npx") is None or not INSPECTOR.is_dir():
        pytest.skip("the MCP Inspector is not installed: run `npm ci` in the repository root (.ci/run does)")
    # The tour runs from a checkout: `.dev/` in the working directory, the repo's node_modules for npx, and
    # `uv run X` — here a shim that runs X from this venv, so the test never re-syncs the environment.
    home = tmp_path / "checkout"
    home.mkdir()
    (home / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copy(ROOT / "package.json", home / "package.json")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "uv").write_text('#!/bin/sh\n[ "$1" = run ] && shift\nexec "$@"\n')
    (shim / "uv").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}
    env["PATH"] = f"{shim}:{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["MCP_CATALOG_PATH"] = str(tmp_path / "inspector-catalog.json")
    env["MCP_CLIENT_CONFIG_PATH"] = str(tmp_path / "inspector-client.json")

    names = ("gateway", "approvals", "adsim", "worker-metrics", "redis")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    argv = [spendgate_binary(), "dev", *(f"--{name}-port={port}" for name, port in ports.items())]
    with (tmp_path / "dev.log").open("wb") as log:
        dev = subprocess.Popen(argv, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{ports['worker-metrics']}/healthz", timeout=120, proc=dev)
        eventually((home / ".dev" / "tokens.env").exists, timeout=30, interval=0.1, what="dev's tokens.env")
        answers = "y\n" * 20  # every "[y/N]" of `drafts approve`
        tour = subprocess.run(
            ["bash", "-c", tour_script()], cwd=home, env=env, input=answers, capture_output=True, text=True,
            timeout=240, check=False,
        )  # fmt: skip
        dev.send_signal(signal.SIGINT)
        assert dev.wait(timeout=60) == 0
    finally:
        stop(dev)
    out = tour.stdout + tour.stderr
    trace = f"{out}\n--- spendgate dev\n{(tmp_path / 'dev.log').read_text()}"
    assert "command not found" not in out and "Traceback" not in out, trace
    assert (
        "['list_accounts', 'get_account_snapshot', 'query_entities', 'get_performance', 'list_drafts', "
        "'get_draft', 'get_audit_log', 'propose_budget_change', 'propose_budget_shift', "
        "'propose_status_change', 'withdraw_draft']"
    ) in out, trace
    assert "'get_audit_log']\n" in out, trace  # the read-only agent's list ends with the read tools
    assert "Northwind Outfitters US" in out, trace
    assert "max_change_pct: +97.18% on cmp_us_001 exceeds 50%" in out, trace
    assert "status applied" in out, trace
    assert '"old":71000,"new":80000' in out, trace
    assert "your approval is recorded (1 of 2)" in out, trace
    assert "refused, as it should be" in out, trace
    assert "rollback staged as" in out, trace
    assert re.search(r"rolled_back\s+acc_us_001", out), trace
    assert "ledger ok:" in out, trace
    assert '"status":"applied"' in out.replace(" ", ""), trace  # the REST example
