"""The processes a benchmark starts and owns: spawn, wait until ready, read CPU and peak RSS, stop by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.processes import RedisServer, stop, wait_for_http, wait_for_port
from tests.support.processes import free_port as free_port  # re-exported for the scenarios
from tests.support.stack import World, make_world

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


def profile_dir() -> Path | None:
    """Set by `python -m bench --profile DIR`: every spendgate service is then sampled by py-spy (numbers
    taken while profiling are skewed by the sampler and are not for the README)."""
    value = os.environ.get("SPENDGATE_BENCH_PROFILE")
    return Path(value) if value else None


# Limits high enough that no bench draft is refused for policy reasons; max_pending_drafts at its maximum.
BENCH_POLICY = """
[defaults]
max_change_pct = 50
max_daily_budget = "100000000"
envelope_24h = "100000000"
second_approver_above = "100000000"
draft_ttl_hours = 48
arm_window_seconds = 3600
max_pending_drafts = 10000
"""


def cpu_seconds(pid: int) -> float:
    """user + system CPU time the process has used so far (from /proc/<pid>/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MiB; None once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Service:
    """One subprocess we started, known by its PID only."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    peak_mib: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.alive():
            self.peak_mib = peak_rss_mib(self.pid)  # VmHWM is the peak over the whole life so far
        stop(self.proc, grace=15)


@dataclass
class Fleet:
    """Every process of one scenario; `close()` stops them all (newest first) and keeps their peak RSS."""

    workdir: Path
    services: list[Service] = field(default_factory=list)
    redis: list[RedisServer] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    profilers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, args: Sequence[str], *, env: Mapping[str, str]) -> Service:
        log_path = self.workdir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*args], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
            )
        service = Service(name, proc, log_path)
        self.services.append(service)
        return service

    def python(self, name: str, module: str, *args: str, env: Mapping[str, str]) -> Service:
        service = self.spawn(name, [PYTHON, "-m", module, *args], env=env)
        into = profile_dir()
        if into is not None and module.startswith(("spendgate_", "bench.")):
            self._attach_profiler(service, into)
        return service

    def _attach_profiler(self, service: Service, into: Path) -> None:
        """py-spy samples the service by PID (so its CPU and RSS stay the service's own) until it exits;
        the collapsed stacks land in `into`, one file per process."""
        into.mkdir(parents=True, exist_ok=True)
        out = into / f"{service.name}-{service.pid}.txt"
        args = ["py-spy", "record", "--pid", str(service.pid), "--rate", "250", "--format", "raw", "--gil"]
        log = (self.workdir / "logs" / f"py-spy-{service.name}-{service.pid}.log").open("wb")
        with log:
            self.profilers.append(
                subprocess.Popen([*args, "--output", str(out), "--nonblocking"], stdout=log, stderr=log)
            )

    def start_redis(self, name: str = "redis") -> RedisServer:
        server = RedisServer(self.workdir / name)
        server.start()
        self.redis.append(server)
        return server

    def record(self, name: str, mib: float | None) -> None:
        if mib is not None:
            self.memory[name] = max(self.memory.get(name, 0.0), mib)

    def stop(self, service: Service) -> None:
        service.stop()
        self.record(service.name, service.peak_mib)

    def close(self) -> None:
        for service in reversed(self.services):
            if service.alive():
                self.stop(service)
        for server in reversed(self.redis):
            if server.proc is not None and server.proc.poll() is None:
                self.record("redis-server", peak_rss_mib(server.proc.pid))
            server.stop()
        for profiler in self.profilers:  # each writes its file and exits once its process has gone
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(profiler, grace=5)


@dataclass(frozen=True)
class Stack:
    """A private Redis and adsim with principals, policy and ledger key written for them."""

    fleet: Fleet
    world: World
    redis_server: RedisServer
    adsim: Service

    def env(self) -> dict[str, str]:
        return {**self.world.env(), "PYTHONUNBUFFERED": "1"}

    def backing_cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the processes every scenario shares: redis-server and adsim."""
        assert self.redis_server.proc is not None
        return {"redis": cpu_seconds(self.redis_server.proc.pid), "adsim": self.adsim.cpu()}

    def start_gateway(self, name: str = "gateway") -> tuple[Service, str]:
        port = free_port()
        service = self.fleet.python(
            name, "spendgate_gateway", "--host", "127.0.0.1", "--port", str(port), env=self.env()
        )
        base = f"http://127.0.0.1:{port}"
        ready(service, f"{base}/healthz")
        return service, base


def ready(service: Service, url: str, *, timeout: float = 40.0) -> None:
    try:
        wait_for_http(url, timeout=timeout, proc=service.proc)
    except (RuntimeError, TimeoutError) as exc:
        raise RuntimeError(f"{service.name} did not start: {exc}\n{service.log_tail()}") from None


def wait_port(service: Service, port: int, *, timeout: float = 20.0) -> None:
    try:
        wait_for_port(port, timeout=timeout, proc=service.proc)
    except (RuntimeError, TimeoutError) as exc:
        raise RuntimeError(f"{service.name} did not start: {exc}\n{service.log_tail()}") from None


@contextmanager
def stack(workdir: Path, memory: dict[str, float]) -> Iterator[Stack]:
    """Redis, adsim (seed 0, no faults) and a world on free ports; everything stopped on exit, when each
    process's peak RSS goes into `memory` (by service name, the max over processes of that name)."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    fleet = Fleet(workdir)
    try:
        redis_server = fleet.start_redis()
        adsim_port = free_port()
        adsim_url = f"http://127.0.0.1:{adsim_port}"
        world = make_world(
            workdir / "world", redis_url=redis_server.url, adsim_url=adsim_url, policy=BENCH_POLICY
        )
        adsim = fleet.python(
            "adsim",
            "spendgate_adsim",
            "--host",
            "127.0.0.1",
            "--port",
            str(adsim_port),
            "--seed",
            "0",
            env=world.env(),
        )
        ready(adsim, f"{adsim_url}/_sim/faults")
        yield Stack(fleet, world, redis_server, adsim)
    finally:
        fleet.close()
        for name, mib in fleet.memory.items():
            memory[name] = max(memory.get(name, 0.0), mib)


def scrape(url: str) -> dict[str, float]:
    """A Prometheus text page as {'name{labels}': value} (comments skipped)."""
    samples: dict[str, float] = {}
    for line in httpx.get(url, timeout=10).raise_for_status().text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        samples[key] = float(value)
    return samples


def metric_sum(samples: Mapping[str, float], name: str, **labels: str) -> float:
    """Sum of one metric's samples whose labels include every given label."""
    total = 0.0
    for key, value in samples.items():
        if not (key == name or key.startswith(name + "{")):
            continue
        if all(f'{k}="{v}"' in key for k, v in labels.items()):
            total += value
    return total


def settle(seconds: float) -> None:
    """A short pause between phases, so one phase's tail does not run into the next's numbers."""
    time.sleep(seconds)
