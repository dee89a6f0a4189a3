"""Start and stop real processes (redis-server, spendgate services) on 127.0.0.1 free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import httpx

from tests.support.waiting import eventually


def free_port() -> int:
    return free_ports(1)[0]


@contextmanager
def closed_port() -> Iterator[int]:
    """A port that refuses connections for as long as the block lasts: bound but never listening, so no
    other process on the machine (a service, a benchmark) can take it meanwhile, as it could a port that
    was merely free a moment ago."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """`count` different free ports: every socket stays bound until all are chosen, so the kernel cannot
    hand out one port twice (as separate `free_port()` calls occasionally did)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _still_running(proc: subprocess.Popen[bytes] | None, before: str) -> None:
    """End a wait at once (not an AssertionError, so `eventually` does not retry) if the process exited."""
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"process exited with {proc.returncode} before {before}")


def wait_for_port(port: int, *, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    def listening() -> bool:
        _still_running(proc, f"listening on {port}")
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    eventually(listening, timeout=timeout, interval=0.05, what=f"a listener on 127.0.0.1:{port}")


def wait_for_http(url: str, *, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    def answers() -> bool:
        _still_running(proc, f"{url} answered")
        try:
            status = httpx.get(url, timeout=1.0).status_code
        except httpx.HTTPError as exc:
            raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
        assert status < 500, f"{url} answered {status}"
        return True

    eventually(answers, timeout=timeout, interval=0.1, what=f"{url} to answer")


def stop(proc: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    """Stop a process we started: SIGTERM, then SIGKILL after the grace period (by PID only)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class RedisServer:
    """A private redis-server on a free port in a temp dir; this object owns the process."""

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        self.workdir = workdir
        self.appendonly = appendonly
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.workdir / "redis.log"),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@contextmanager
def spendgate_process(
    args: Sequence[str], *, env: Mapping[str, str], health_url: str | None, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `spendgate <args>` from the project's venv until the block ends."""
    binary = shutil.which("spendgate") or str(Path(os.sys.executable).parent / "spendgate")  # type: ignore[attr-defined]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [binary, *args], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            if health_url is not None:
                wait_for_http(health_url, proc=proc)
            yield proc
        finally:
            stop(proc)
