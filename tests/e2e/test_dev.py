"""`spendgate dev` (what `make run` runs): a healthy stack, a dead child reported, everything stopped."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import spendgate, spendgate_binary
from tests.support.processes import RedisServer, free_ports, stop
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


class DevRun:
    """One `spendgate dev` on free ports, with its state dir, its output files and its process."""

    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.stdout = tmp_path / "dev.out"
        self.stderr = tmp_path / "dev.err"
        names = ("gateway", "approvals", "adsim", "worker-metrics", "redis")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.health = [
            f"http://127.0.0.1:{self.ports['adsim']}/healthz",
            f"http://127.0.0.1:{self.ports['gateway']}/healthz",
            f"http://127.0.0.1:{self.ports['approvals']}/healthz",
            f"http://127.0.0.1:{self.ports['worker-metrics']}/healthz",
        ]

    def argv(self, *extra: str) -> list[str]:
        options = [f"--{name}-port={port}" for name, port in self.ports.items()]
        return [spendgate_binary(), "dev", "--state-dir", str(self.state), *options, *extra]

    def env(self, **extra: str) -> dict[str, str]:
        return {**{k: v for k, v in os.environ.items() if not k.startswith("SPENDGATE_")}, **extra}

    def tokens(self) -> dict[str, str]:
        """The exported variables of tokens.env, read the way a shell would."""
        script = f"set -a; source {shlex.quote(str(self.state / 'tokens.env'))}; env -0"
        out = subprocess.run(["bash", "-c", script], capture_output=True, check=True, env={}).stdout
        return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)

    def output(self) -> str:
        return self.stdout.read_text() + "\n" + self.stderr.read_text()


@contextmanager
def running(dev: DevRun, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    with dev.stdout.open("wb") as out, dev.stderr.open("wb") as err:
        proc = subprocess.Popen(dev.argv(), stdout=out, stderr=err, env=dev.env(**env))
    try:
        yield proc
    finally:
        stop(proc, grace=30)


def run_dev(dev: DevRun, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`spendgate dev` to completion (a failure or --check)."""
    argv, environ = dev.argv(*extra), dev.env(**env)
    return subprocess.run(argv, env=environ, capture_output=True, text=True, timeout=110, check=False)


def wait_healthy(dev: DevRun, proc: subprocess.Popen[bytes], *, timeout: float = 90) -> None:
    pending = list(dev.health)

    def all_healthy() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"spendgate dev exited with {proc.returncode}\n{dev.output()}")
        while pending:
            try:
                status = httpx.get(pending[0], timeout=1).status_code
            except httpx.HTTPError:
                status = None
            assert status == 200, f"not healthy: {pending}\n{dev.output()}"
            pending.pop(0)
        return True

    eventually(all_healthy, timeout=timeout, interval=0.2, what="every service of spendgate dev")


def port_closed(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_dev_serves_a_working_stack_and_sigint_stops_everything_it_started(tmp_path: Path) -> None:
    dev = DevRun(tmp_path)
    with running(dev) as proc:
        wait_healthy(dev, proc)

        def the_banner() -> str:
            text = dev.stdout.read_text()
            assert "spendgate dev is up" in text, text[-2000:]
            return text

        banner = eventually(the_banner, timeout=30, interval=0.1, what="the banner")
        tokens = dev.tokens()
        assert f"http://127.0.0.1:{dev.ports['gateway']}/mcp" in banner
        assert f"http://127.0.0.1:{dev.ports['approvals']}/console/" in banner
        assert tokens["CLAUDE_TOKEN"] in banner and tokens["ALICE_TOKEN"] in banner
        assert f"redis://127.0.0.1:{dev.ports['redis']}/0" == tokens["SPENDGATE_REDIS_URL"]
        assert (dev.state / "tokens.env").stat().st_mode & 0o777 == 0o600

        # The printed tokens work: alice reads the approval API, an agent is refused there.
        api = f"http://127.0.0.1:{dev.ports['approvals']}/v1/drafts"
        as_alice = httpx.get(api, headers={"Authorization": f"Bearer {tokens['ALICE_TOKEN']}"})
        as_claude = httpx.get(api, headers={"Authorization": f"Bearer {tokens['CLAUDE_TOKEN']}"})
        assert as_alice.status_code == 200 and as_claude.status_code in (401, 403)
        listed = spendgate("drafts", "list", env=tokens)
        assert listed.returncode == 0, listed.stderr

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, dev.output()
    for port in dev.ports.values():
        assert port_closed(port), f"something still listens on {port}\n{dev.output()}"
    stderr = dev.stderr.read_text()
    for name in ("worker", "approvals", "gateway", "adsim", "redis"):
        assert f"stopped {name} (pid" in stderr
    assert "spendgate dev stopped everything it started" in stderr
    assert (dev.state / "redis" / "appendonlydir").is_dir()  # AOF on


def test_dev_check_uses_an_explicit_redis_and_exits_0(tmp_path: Path, redis_server: RedisServer) -> None:
    dev = DevRun(tmp_path)
    done = run_dev(dev, "--check", SPENDGATE_REDIS_URL=redis_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "spendgate dev is up" in done.stdout
    assert f"{redis_server.url}   (from SPENDGATE_REDIS_URL)" in done.stdout
    assert "starting redis-server" not in done.stderr
    assert "stopped redis" not in done.stderr
    assert redis_server.proc is not None and redis_server.proc.poll() is None  # not ours to stop
    for port in dev.ports.values():
        assert port_closed(port)


def test_dev_names_the_service_that_died_and_stops_the_rest(tmp_path: Path) -> None:
    dev = DevRun(tmp_path)
    dev.state.mkdir()
    # dev keeps an existing policy file, so a broken one reaches the services, and the gateway refuses it.
    (dev.state / "policy.toml").write_text("[defaults]\nmax_change_pct = 'lots'\n")
    done = run_dev(dev)
    assert done.returncode == 1, done.stdout + done.stderr
    log = dev.state.resolve() / "logs" / "gateway.log"
    assert f"gateway exited with status 2; its log is {log}" in done.stderr
    assert "policy file" in done.stderr  # the log's tail says why
    assert "stopped adsim (pid" in done.stderr and "stopped redis (pid" in done.stderr
    for port in dev.ports.values():
        assert port_closed(port)


def test_dev_refuses_a_taken_port_before_starting_anything(tmp_path: Path) -> None:
    dev = DevRun(tmp_path)
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", dev.ports["gateway"]))
        sock.listen()
        done = run_dev(dev)
    assert done.returncode == 2
    assert f"port {dev.ports['gateway']} on 127.0.0.1 is taken" in done.stderr
    assert "--gateway-port" in done.stderr
    assert not dev.state.exists()


def test_dev_reports_a_service_that_dies_later_and_stops_the_rest(tmp_path: Path) -> None:
    dev = DevRun(tmp_path)
    with running(dev) as proc:
        wait_healthy(dev, proc)
        pattern = re.compile(r"starting worker … healthy in [\d.]+s \(pid (\d+),")
        # Our probe can see the worker healthy before dev has said so.
        found = eventually(
            lambda: pattern.search(dev.stderr.read_text()), timeout=30, interval=0.1, what="the worker's pid"
        )
        os.kill(int(found.group(1)), signal.SIGKILL)  # the worker `spendgate dev` started for this test
        assert proc.wait(timeout=60) == 1, dev.output()
    stderr = dev.stderr.read_text()
    log = dev.state.resolve() / "logs" / "worker.log"
    assert f"worker exited with status -9; its log is {log}" in stderr
    assert "stopping the rest" in stderr
    for port in dev.ports.values():
        assert port_closed(port), f"something still listens on {port}\n{dev.output()}"
