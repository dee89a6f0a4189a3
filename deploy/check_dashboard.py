"""Checks that the dashboard, the alert rules and their tests query only metrics spendgate exports (SPEC §11).

Stdlib only. Every `spendgate_*` name found must be a metric below, spelled as Prometheus exposes it:
counters with `_total`, histograms with `_bucket`/`_sum`/`_count`, gauges bare. Every dashboard panel must
query at least one of them. With `--emit-rules FILE` it also writes the dashboard's queries as recording
rules, so `promtool check rules FILE` can parse them.

    python3 deploy/check_dashboard.py [--emit-rules FILE] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# name -> type, as the services register them (spendgate_core.metrics and the services' own gauges).
METRICS = {
    "spendgate_mcp_tool_calls": "counter",
    "spendgate_mcp_tool_duration_seconds": "histogram",
    "spendgate_drafts_created": "counter",
    "spendgate_drafts_refused": "counter",
    "spendgate_decisions": "counter",
    "spendgate_draft_decision_seconds": "histogram",
    "spendgate_applies": "counter",
    "spendgate_apply_seconds": "histogram",
    "spendgate_upstream_requests": "counter",
    "spendgate_queue_depth": "gauge",
    "spendgate_envelope_used_ratio": "gauge",
    "spendgate_circuit_open": "gauge",
    "spendgate_ledger_entries": "counter",
    "spendgate_ledger_verify_ok": "gauge",
    "spendgate_workers_alive": "gauge",
    "spendgate_queue_oldest_job_age_seconds": "gauge",
}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
EXPOSED = {name + suffix for name, kind in METRICS.items() for suffix in SUFFIXES[kind]}

DEFAULT_FILES = [
    *sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")),
    *sorted((ROOT / "deploy/prometheus/rules").glob("*.yml")),
    *sorted((ROOT / "deploy/prometheus/tests").glob("*.yml")),
    ROOT / "k8s/base/prometheusrule.yaml",
]
NAME = re.compile(r"\bspendgate_[a-z0-9_]+")
# Grafana's macros, replaced by what they mean so promtool can parse the query.
MACROS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1d"}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels inside a collapsed row


def check_dashboard(path: Path, queries: list[str]) -> list[str]:
    problems = []
    for panel in panels(json.loads(path.read_text())):
        if panel.get("type") == "row":
            continue
        exprs = [t.get("expr", "") for t in panel.get("targets", [])]
        if not any(NAME.search(e) for e in exprs):
            problems.append(f"{path}: panel {panel.get('title')!r} queries no spendgate metric")
        queries.extend(e for e in exprs if e)
    return problems


def unknown_names(path: Path) -> list[str]:
    return [
        f"{path}:{lineno}: {name} is not a metric spendgate exports"
        for lineno, line in enumerate(path.read_text().splitlines(), start=1)
        for name in NAME.findall(line)
        if name not in EXPOSED
    ]


def recording_rules(queries: list[str]) -> str:
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, query in enumerate(queries):
        for macro, value in MACROS.items():
            query = query.replace(macro, value)
        lines += [f"      - record: dashboard:query_{i}", f"        expr: {json.dumps(query)}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="dashboards (.json) and rule files to check")
    parser.add_argument("--emit-rules", type=Path, help="write the dashboard queries here as recording rules")
    args = parser.parse_args()

    files = args.files or DEFAULT_FILES
    problems: list[str] = []
    queries: list[str] = []
    for path in files:
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if path.suffix == ".json":
            problems += check_dashboard(path, queries)
        problems += unknown_names(path)

    if args.emit_rules:
        args.emit_rules.write_text(recording_rules(queries))
    if problems:
        sys.stderr.write("\n".join(problems) + "\n")
        return 1
    sys.stdout.write(
        f"{len(queries)} dashboard queries and {len(files)} files use only known spendgate metrics\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
