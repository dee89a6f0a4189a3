"""Turning results into the readable table, the one-line summary, the README section and the JSON files."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

TARGETS = {
    "gateway_read_vs_fastmcp": (">=", 0.7),
    "gateway_propose_vs_fastmcp": (">=", 0.4),
    "executor_vs_rq": (">=", 0.6),
    "confirm_to_applied_p50_ms": ("<=", 50.0),
    "confirm_to_applied_p99_ms": ("<=", 150.0),
}


def machine() -> dict[str, Any]:
    def sh(command: str) -> str:
        try:
            return subprocess.run(
                command, shell=True, capture_output=True, text=True, timeout=10
            ).stdout.rstrip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "nproc": sh("nproc"),
        "lscpu": sh("lscpu | head -n 15"),
        "free": sh("free -h"),
        "kernel": sh("uname -r"),
        "redis": sh("redis-server --version"),
    }


def headline(results: dict[str, Any]) -> dict[str, float | None]:
    s = results["scenarios"]
    reads = s.get("reads", {}).get("by_concurrency", {})
    read_ratios = [v["ratio"] for v in reads.values() if v.get("ratio") is not None]
    return {
        # The target has to hold at every concurrency measured, so the line reports the worst one.
        "gateway_read_vs_fastmcp": min(read_ratios) if read_ratios else None,
        "gateway_propose_vs_fastmcp": s.get("drafts", {}).get("ratio"),
        "executor_vs_rq": s.get("executor", {}).get("ratio"),
        "confirm_to_applied_p50_ms": s.get("latency", {}).get("p50_ms"),
        "confirm_to_applied_p99_ms": s.get("latency", {}).get("p99_ms"),
    }


def bench_line(head: dict[str, float | None]) -> str:
    def fmt(key: str, value: float | None) -> str:
        if value is None:
            return "NA"
        return f"{value:.1f}" if key.endswith("_ms") else f"{value:.2f}"

    return "bench: " + " ".join(f"{k}={fmt(k, v)}" for k, v in head.items())


def verdicts(head: dict[str, float | None]) -> dict[str, str]:
    out = {}
    for key, (op, limit) in TARGETS.items():
        value = head.get(key)
        if value is None:
            out[key] = "not run"
        elif (op == ">=" and value >= limit) or (op == "<=" and value <= limit):
            out[key] = "met"
        else:
            out[key] = "MISSED"
    return out


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _n(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return f"{value}{unit}"


def _line(
    measure: str, ours: str = "", theirs: str = "", ratio: str = "", target: str = "", verdict: str = ""
) -> list[str]:
    return [measure, ours, theirs, ratio, target, verdict]


def _throughput(measure: str, result: dict[str, Any], target: str, verdict: str) -> list[list[str]]:
    """A calls/s row against the baseline, then the server CPU per call on both sides."""
    g, b = result["gateway"], result["baseline"]
    cpu_g, cpu_b = g["median_cpu_ms_per_call"], b["median_cpu_ms_per_call"]
    return [
        _line(
            measure,
            _n(g["median_calls_per_s"]),
            _n(b["median_calls_per_s"]),
            _n(result["ratio"]),
            target,
            verdict,
        ),
        _line("  server CPU ms per call", _n(cpu_g), _n(cpu_b), _n(ratio_of(cpu_b, cpu_g))),
    ]


def rows(results: dict[str, Any]) -> list[list[str]]:
    """[measure, spendgate, baseline, ratio, target, verdict] rows shared by the console table and README."""
    s = results["scenarios"]
    verdict = verdicts(headline(results))
    out: list[list[str]] = []
    reads = s.get("reads", {}).get("by_concurrency", {})
    for conc, r in reads.items():
        met = "met" if (r["ratio"] or 0) >= 0.7 else "MISSED"
        out += _throughput(f"get_account_snapshot calls/s, concurrency {conc}", r, "≥ 0.7", met)
    if reads:
        worst = max(reads.values(), key=lambda v: v.get("upstream_per_1000_calls") or 0)
        upstream = f"{_n(worst.get('upstream_per_1000_calls'))} ({_n(worst.get('upstream_per_s'))}/s)"
        out.append(_line("  adsim requests per 1,000 snapshot calls", upstream))
    if d := s.get("drafts"):
        out += _throughput(
            "propose_budget_change calls/s, concurrency 8", d, "≥ 0.4", verdict["gateway_propose_vs_fastmcp"]
        )
    if e := s.get("executor"):
        m, cpu = e["median_jobs_per_s"], e["cpu_ms_per_apply"]
        ours, bare = cpu["executorx1"], cpu["barex1"]
        out += [
            _line(
                "applies/s, 1 worker (bare: RQ SimpleWorker, 3 requests/job)",
                _n(m["executorx1"]),
                _n(m["barex1"]),
                _n(e["ratio"]),
                "≥ 0.6",
                verdict["executor_vs_rq"],
            ),
            _line(
                "  worker CPU ms per apply",
                _n(ours["worker"]),
                _n(bare["worker"]),
                _n(ratio_of(bare["worker"], ours["worker"])),
            ),
            _line("  redis-server CPU ms per apply", _n(ours["redis"]), _n(bare["redis"])),
            _line(
                "applies/s, 2 workers",
                _n(m["executorx2"]),
                _n(m["barex2"]),
                _n(ratio_of(m["executorx2"], m["barex2"])),
            ),
            _line(
                "  speed-up 1 → 2 workers",
                _n(e["executor_speedup_2_workers"], "x"),
                _n(e["bare_speedup_2_workers"], "x"),
            ),
        ]
    if lat := s.get("latency"):
        out += [
            _line(
                "confirm → applied p50 ms (idle queue)",
                _n(lat["p50_ms"]),
                target="≤ 50",
                verdict=verdict["confirm_to_applied_p50_ms"],
            ),
            _line(
                "confirm → applied p99 ms",
                _n(lat["p99_ms"]),
                target="≤ 150",
                verdict=verdict["confirm_to_applied_p99_ms"],
            ),
        ]
    if g := s.get("gateway_scale"):
        one, two = g["1_process"]["median_calls_per_s"], g["2_processes"]["median_calls_per_s"]
        out.append(
            _line(
                f"snapshot calls/s via round-robin proxy, c={g['concurrency']}: 1 → 2 gateway processes",
                f"{_n(one)} → {_n(two)}",
                ratio=_n(g["speedup"], "x"),
            )
        )
    return out


def ratio_of(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


HEADER = ["measure", "spendgate", "baseline", "ratio", "target", "verdict"]


def table(results: dict[str, Any]) -> str:
    body = rows(results)
    widths = [max(len(r[i]) for r in [HEADER, *body]) for i in range(len(HEADER))]
    lines = [_row(HEADER, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row(r, widths) for r in body]
    memory = results.get("memory_mib", {})
    if memory:
        lines.append("")
        lines.append(
            "peak RSS (VmHWM) per process, MiB: "
            + ", ".join(f"{k} {v:.0f}" for k, v in sorted(memory.items()))
        )
    return "\n".join(lines)


def _md(cell: str) -> str:
    """A Markdown table cell: a sub-row keeps its indent as an arrow; an empty cell is a space."""
    if cell.startswith("  "):
        return "↳ " + cell.strip()
    return cell.strip() or " "


def markdown(results: dict[str, Any]) -> str:
    """The README's "Performance" section."""
    meta = results["meta"]
    m = meta["machine"]
    lines = [
        "## Performance",
        "",
        f"Measured with `make bench` ({meta['plan']} run, {meta['finished_at']}) on the machine below. Every "
        "ratio compares spendgate with its own framework doing nothing, measured in the same run with both "
        f"sides interleaved (median of {meta['rounds']} rounds; executor "
        f"{meta['plan_settings']['executor_rounds']}). Baselines: a bare FastMCP 4 server (same transport,"
        " static-token auth, tools returning constants of the same size) and a bare RQ "
        "`SimpleWorker` whose job makes the same three adsim requests an apply makes.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows(results)]
    memory = results.get("memory_mib", {})
    if memory:
        lines += [
            "",
            "Peak RSS (VmHWM) per process: "
            + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(memory.items()))
            + ".",
        ]
    lines += [
        "",
        "Machine:",
        "",
        "```",
        f"$ nproc\n{m['nproc']}",
        "$ lscpu | head\n" + "\n".join(m["lscpu"].splitlines()[:10]),
        f"$ free -h\n{m['free']}",
        "```",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(results, indent=2, sort_keys=False, default=str)
    path = directory / f"{stamp}.json"
    path.write_text(text + "\n")
    (directory / "latest.json").write_text(text + "\n")
    return path
