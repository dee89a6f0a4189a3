"""Start, watch and stop the child processes of `spendgate dev`; it owns exactly what it started.

Children run in their own sessions, so a Ctrl-C in the terminal reaches only `spendgate dev`, which then
stops them in reverse start order (SIGTERM by PID, SIGKILL after a grace period). On Linux each child also
gets SIGTERM from the kernel if `spendgate dev` itself dies without cleaning up.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

Probe = Callable[[], bool]
_PR_SET_PDEATHSIG = 1


def http_probe(url: str) -> Probe:
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def redis_probe(url: str) -> Probe:
    def probe() -> bool:
        return redis_answers(url)

    return probe


def redis_answers(url: str, *, timeout: float = 1.0) -> bool:
    """True when something at `url` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False
    finally:
        client.close()


def port_is_free(host: str, port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        # Same option the servers use, so a port in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    probe: Probe
    ready: bool = field(default=False)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ChildDied(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(f"{child.name} exited with status {child.proc.returncode}")
        self.child = child


class Supervisor:
    """The children of one `spendgate dev` run; `stop` is set by the signal handlers."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.children: list[Child] = []

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_path: Path, probe: Probe
    ) -> Child:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - argv is ours, never a shell string
                list(argv),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        child = Child(name=name, proc=proc, log_path=log_path, probe=probe)
        self.children.append(child)
        return child

    def wait_ready(self, child: Child, *, timeout: float) -> bool:
        """Poll until the child's probe passes (True) or a stop is requested (False).

        Raises ChildDied when it exits first, TimeoutError when it never becomes ready.
        """
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            if child.proc.poll() is not None:
                raise ChildDied(child)
            if child.probe():
                child.ready = True
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} did not become healthy within {timeout:.0f}s")
            self.stop.wait(0.1)
        return False

    def watch(self, *, poll: float = 0.5) -> Child | None:
        """Block until a stop is requested (None) or a child exits (that child)."""
        while not self.stop.wait(poll):
            for child in self.children:
                if child.proc.poll() is not None:
                    return child
        return None

    def stop_all(self, *, grace: float = 10.0) -> list[str]:
        """Stop every child still running, newest first; returns a line per child for the user."""
        report = []
        for child in reversed(self.children):
            proc = child.proc
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                    report.append(f"stopped {child.name} (pid {proc.pid})")
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
                    report.append(f"killed {child.name} (pid {proc.pid}) after {grace:.0f}s")
        return report
