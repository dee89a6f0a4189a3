"""`python -m bench [--quick] [--only reads,drafts,scale,executor,latency]`: run the benchmarks.

Prints the table and, last, the one `bench:` line; writes the full results to
bench/results/<UTC timestamp>.json and bench/results/latest.json.

Every scenario starts and stops its own redis-server, adsim and services on 127.0.0.1 free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import executor, gateway, report
from bench.plan import FULL, QUICK, Plan

Scenario = Callable[[Path, Plan, Callable[[str], None], dict[str, float]], Any]

SCENARIOS: dict[str, Scenario] = {
    "reads": lambda w, p, log, mem: asyncio.run(gateway.reads_scenario(w, p, log, mem)),
    "drafts": lambda w, p, log, mem: asyncio.run(gateway.drafts_scenario(w, p, log, mem)),
    "gateway_scale": lambda w, p, log, mem: asyncio.run(gateway.gateway_scale_scenario(w, p, log, mem)),
    "executor": executor.executor_scenario,
    "latency": executor.latency_scenario,
}
ALIASES = {"scale": "gateway_scale"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--quick", action="store_true", help="one short round per scenario: a smoke run")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of {', '.join(SCENARIOS)} (scale = gateway_scale)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with service logs")
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS, help="where the JSON goes")
    parser.add_argument("--rounds", type=int, help="override the rounds per comparison (and executor rounds)")
    parser.add_argument("--seconds", type=float, help="override the measured seconds per side per round")
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample every service with py-spy into this directory (collapsed stacks; skews the numbers)",
    )
    args = parser.parse_args(argv)
    if args.profile is not None:
        os.environ["SPENDGATE_BENCH_PROFILE"] = str(args.profile.resolve())
    plan = QUICK if args.quick else FULL
    if args.rounds is not None:
        plan = dataclasses.replace(
            plan, name=f"{plan.name}-custom", rounds=args.rounds, executor_rounds=args.rounds
        )
    if args.seconds is not None:
        plan = dataclasses.replace(
            plan, name=f"{plan.name.removesuffix('-custom')}-custom", measure=args.seconds
        )
    chosen = [ALIASES.get(n.strip(), n.strip()) for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")

    workdir = Path(tempfile.mkdtemp(prefix="spendgate-bench-"))
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "plan": plan.name,
            "plan_settings": dataclasses.asdict(plan),
            "rounds": plan.rounds,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average_before": os.getloadavg(),
            "machine": report.machine(),
            "python": sys.version.split()[0],
            "versions": {
                p: version(p)
                for p in (
                    "fastmcp",
                    "mcp",
                    "rq",
                    "redis",
                    "httpx",
                    "aiohttp",
                    "uvicorn",
                    "hiredis",
                    "starlette",
                )
            },
            "client": "bench.loadgen (raw asyncio HTTP/1.1, one keep-alive connection per worker)",
        },
        "scenarios": {},
        "memory_mib": {},
        "errors": {},
    }
    memory: dict[str, float] = {}
    try:
        for name in chosen:
            log(f"scenario {name} ({plan.name})")
            t0 = time.monotonic()
            try:
                results["scenarios"][name] = SCENARIOS[name](workdir / name, plan, log, memory)
            except Exception as exc:  # one broken scenario must not hide the others' numbers
                log(f"scenario {name} failed: {exc}")
                results["errors"][name] = "".join(traceback.format_exception(exc))[-4000:]
            log(f"scenario {name} took {time.monotonic() - t0:.0f}s")
    finally:
        if args.keep:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["memory_mib"] = {k: round(v, 1) for k, v in sorted(memory.items())}
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    results["meta"]["load_average_after"] = os.getloadavg()
    head = report.headline(results)
    results["headline"] = head
    results["verdicts"] = report.verdicts(head)
    results["bench_line"] = report.bench_line(head)
    results["readme_section"] = report.markdown(results)
    path = report.write(results, args.results_dir)

    print(report.table(results))
    print()
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    print(
        f"results: {shown} (and latest.json); {results['meta']['seconds']:.0f}s; load average before/after "
        f"{results['meta']['load_average_before'][0]:.2f}/{results['meta']['load_average_after'][0]:.2f}"
    )
    for scenario in results["scenarios"].values():
        for warning in scenario.get("warnings", []):
            print(f"WARNING {warning}")
    for name, error in results["errors"].items():
        print(f"scenario {name} FAILED: {error.strip().splitlines()[-1]}")
    print(results["bench_line"])
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
