"""Run `spendgate dev`: prepare the state dir, start Redis and the four services, watch them, stop them.

Imported only when `spendgate dev` runs, so other commands do not pay for its imports.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import typer

from spendgate_cli.dev.banner import render_banner, render_tokens_env
from spendgate_cli.dev.stack import Ports, plan
from spendgate_cli.dev.state import DevState, prepare_state, write_file
from spendgate_cli.dev.supervisor import (
    ChildDied,
    Supervisor,
    free_port,
    http_probe,
    port_is_free,
    redis_answers,
    redis_probe,
)
from spendgate_cli.exits import REFUSED, fail


@dataclass(frozen=True)
class DevOptions:
    state_dir: Path
    ports: Ports
    redis_port: int
    seed: int
    keep_data: bool
    check: bool
    timeout: float


def run_dev(options: DevOptions) -> None:
    """Everything `spendgate dev` does; see its --help for the contract."""
    ports, timeout = options.ports, options.timeout
    _check_ports(ports, redis_port=options.redis_port)
    state = prepare_state(options.state_dir)
    stop = threading.Event()
    supervisor = Supervisor(stop)
    failed = False
    with _stop_on_signals(stop):
        try:
            redis_url, redis_note = _redis(
                supervisor, state, redis_port=options.redis_port, keep_data=options.keep_data, timeout=timeout
            )
            for service in plan(state, ports, redis_url=redis_url, seed=options.seed):
                if stop.is_set():
                    break
                _say(f"starting {service.name} … ", nl=False)
                began = time.monotonic()
                child = supervisor.start(
                    service.name,
                    service.argv,
                    env=service.env,
                    log_path=state.log_path(service.name),
                    probe=http_probe(service.health_url),
                )
                if supervisor.wait_ready(child, timeout=timeout):
                    took = time.monotonic() - began
                    _say(f"healthy in {took:.1f}s (pid {child.proc.pid}, {service.health_url})")
            if not stop.is_set():
                namespace = os.environ.get("SPENDGATE_REDIS_NAMESPACE")  # the services inherit it as it is
                tokens = render_tokens_env(state, ports, redis_url=redis_url, redis_namespace=namespace)
                write_file(state.tokens_env, tokens, mode=0o600)
                typer.echo(render_banner(state, ports, redis_url=redis_url, redis_note=redis_note))
                if options.check:
                    _say("--check: every service is healthy; stopping")
                    stop.set()
            dead = supervisor.watch()
            if dead is not None:
                failed = True
                _report_death(dead.name, dead.proc.returncode, dead.log_path, dead.tail())
        except ChildDied as exc:
            failed = True
            _say("failed")
            _report_death(exc.child.name, exc.child.proc.returncode, exc.child.log_path, exc.child.tail())
        except TimeoutError as exc:
            failed = True
            _say("timed out")
            _say(f"spendgate dev: {exc}; see {state.logs}/")
        finally:
            for line in supervisor.stop_all():
                _say(line)
    if failed:
        raise typer.Exit(REFUSED)
    _say("spendgate dev stopped everything it started")


def _say(message: str, *, nl: bool = True) -> None:
    typer.echo(message, err=True, nl=nl)


def _report_death(name: str, status: int | None, log_path: Path, tail: str) -> None:
    _say(f"spendgate dev: {name} exited with status {status}; its log is {log_path}")
    if tail:
        _say("\n".join(f"  | {line}" for line in tail.splitlines()))
    _say("stopping the rest")


def _check_ports(ports: Ports, *, redis_port: int) -> None:
    wanted = {
        "--gateway-port": ports.gateway,
        "--approvals-port": ports.approvals,
        "--adsim-port": ports.adsim,
        "--worker-metrics-port": ports.worker_metrics,
    }
    if len({*wanted.values(), redis_port}) != len(wanted) + 1:
        fail(f"two services would share a port: {wanted | {'--redis-port': redis_port}}")
    for option, port in wanted.items():
        if not port_is_free(ports.host, port):
            fail(f"port {port} on {ports.host} is taken; stop what uses it or pass {option} <another port>")


def _redis(
    supervisor: Supervisor, state: DevState, *, redis_port: int, keep_data: bool, timeout: float
) -> tuple[str, str]:
    """The Redis URL to use and a note on where it came from; starts a private redis-server if needed."""
    explicit = os.environ.get("SPENDGATE_REDIS_URL", "").strip()
    if explicit:
        if redis_answers(explicit):
            return explicit, "from SPENDGATE_REDIS_URL"
        _say(f"nothing answers PING at SPENDGATE_REDIS_URL={explicit}; starting a private redis-server")
    binary = shutil.which("redis-server")
    if binary is None:
        fail(
            "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server; macOS: brew install "
            "redis), or set SPENDGATE_REDIS_URL to a Redis you run"
        )
    if not keep_data:
        # Fresh like the sandbox: adsim restarts from its seed, so yesterday's drafts would point at nothing.
        shutil.rmtree(state.redis_dir, ignore_errors=True)
        state.redis_dir.mkdir()
    port = redis_port if port_is_free("127.0.0.1", redis_port) else free_port()
    url = f"redis://127.0.0.1:{port}/0"
    argv = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(state.redis_dir),
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
    ]  # fmt: skip
    _say(f"starting redis-server on port {port} … ", nl=False)
    began = time.monotonic()
    child = supervisor.start(
        "redis", argv, env=os.environ, log_path=state.log_path("redis"), probe=redis_probe(url)
    )
    if supervisor.wait_ready(child, timeout=timeout):
        _say(f"ready in {time.monotonic() - began:.1f}s (pid {child.proc.pid})")
    kept = "kept from the last run" if keep_data else "fresh; --keep-data keeps it"
    return url, f"private redis-server, AOF on, data {kept}"


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT/SIGTERM/SIGHUP into a stop request, so the cleanup path always runs."""

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            _say(f"\n{signal.Signals(signum).name}: stopping everything spendgate dev started …")
        stop.set()

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, request_stop) for s in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
