"""Gateway scenarios: reads and drafts against a bare FastMCP server, and 1 vs 2 gateway processes.

Both sides of a comparison run in the same stack with the same load client and the same request bytes
(apart from the port). Within a round they are interleaved in short slices — whichever side has the
least measured time so far goes next — so a burst of background load on this shared machine lands on
both sides alike instead of on whichever happened to run at that moment.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import loadgen, procs
from bench.plan import Plan
from bench.world import ACCOUNTS, Hands, hands
from spendgate_core.domain.money import to_major

MAX_CALLS = 200_000  # per slice; time ends a slice long before this
SLICE_SECONDS = 1.0


@dataclass
class Target:
    """Something that answers MCP on a port, with the processes whose CPU its answers cost."""

    name: str
    port: int
    services: list[procs.Service]
    metrics_url: str | None = None

    def cpu(self) -> float:
        return sum(s.cpu() for s in self.services)


@dataclass
class Side:
    """One target's measurements within one round."""

    load: loadgen.LoadResult = field(default_factory=loadgen.LoadResult)
    cpu: float = 0.0
    backing: dict[str, float] = field(default_factory=lambda: {"redis": 0.0, "adsim": 0.0})
    steps: int = 0

    def summary(self) -> dict[str, Any]:
        out = self.load.summary()
        calls = self.load.calls
        out["slices"] = self.steps
        out["server_cpu_ms_per_call"] = round(self.cpu * 1000 / calls, 3) if calls else None
        out["server_cpu_share"] = round(self.cpu / self.load.seconds, 3) if self.load.seconds else None
        for name, seconds in self.backing.items():
            out[f"{name}_cpu_ms_per_call"] = round(seconds * 1000 / calls, 3) if calls else None
        return out


async def interleaved(
    st: procs.Stack,
    targets: list[Target],
    step: Callable[[Target], Awaitable[loadgen.LoadResult]],
    *,
    seconds: float,
    max_steps: int,
    after_step: Callable[[Target], None] | None = None,
) -> dict[str, Side]:
    """Run `step` on the target with the least measured time until each has `seconds` (or steps run out)."""
    sides = {t.name: Side() for t in targets}
    for _ in range(max_steps):
        pending = [t for t in targets if sides[t.name].load.seconds < seconds]
        if not pending:
            break
        target = min(pending, key=lambda t: (sides[t.name].load.seconds, sides[t.name].steps))
        side = sides[target.name]
        cpu0, backing0 = target.cpu(), st.backing_cpu()
        result = await step(target)
        side.cpu += target.cpu() - cpu0
        for name, value in st.backing_cpu().items():
            side.backing[name] += value - backing0[name]
        side.load.merge(result)
        side.steps += 1
        if after_step is not None:
            after_step(target)
    return sides


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def compare(rounds: list[dict[str, dict[str, Any]]], ours: str, theirs: str) -> dict[str, Any]:
    """Medians over rounds; `ratio` is the median of the per-round ratios (each round's sides interleaved)."""
    per_round = [ratio(r[ours]["calls_per_s"], r[theirs]["calls_per_s"]) for r in rounds]
    return {
        ours: {
            "median_calls_per_s": _median([r[ours]["calls_per_s"] for r in rounds]),
            "median_cpu_ms_per_call": _median([r[ours]["server_cpu_ms_per_call"] for r in rounds]),
        },
        theirs: {
            "median_calls_per_s": _median([r[theirs]["calls_per_s"] for r in rounds]),
            "median_cpu_ms_per_call": _median([r[theirs]["server_cpu_ms_per_call"] for r in rounds]),
        },
        "ratio": _median(per_round),
        "round_ratios": per_round,
        "rounds": rounds,
    }


def _line(r: dict[str, dict[str, Any]]) -> str:
    g, b = r["gateway"], r["baseline"]
    return (
        f"gateway {g['calls_per_s']}/s ({g['server_cpu_ms_per_call']} ms CPU/call), "
        f"baseline {b['calls_per_s']}/s ({b['server_cpu_ms_per_call']} ms CPU/call); "
        f"errors {g['errors']}/{b['errors']}"
    )


# requests ---------------------------------------------------------------------------------------------
def _reads(port: int, token: str) -> Callable[[int, int], bytes]:
    """get_account_snapshot, rotating over the three accounts."""
    templates = [
        loadgen.tools_call(
            host="127.0.0.1",
            port=port,
            path="/mcp",
            token=token,
            tool="get_account_snapshot",
            arguments={"account_id": account},
        )
        for account in ACCOUNTS
    ]
    return lambda worker, rid: templates[rid % len(templates)].render(rid)


def _draft_targets(h: Hands) -> list[tuple[str, str, str]]:
    """(account, campaign, new budget) for every campaign: a 10% cut, so no envelope is ever needed."""
    targets = []
    for account, campaign in h.campaigns():
        new = campaign.daily_budget * 9 // 10
        if new in (0, campaign.daily_budget):
            continue
        targets.append((account, campaign.id, str(to_major(new, h.currency(account)))))
    return targets


def _proposal(port: int, token: str, target: tuple[str, str, str]) -> loadgen.CallTemplate:
    account, campaign, new = target
    return loadgen.tools_call(
        host="127.0.0.1",
        port=port,
        path="/mcp",
        token=token,
        tool="propose_budget_change",
        arguments={
            "account_id": account,
            "campaign_id": campaign,
            "new_daily_budget": new,
            "reason": "bench: draft throughput",
        },
    )


def _upstream(samples: dict[str, float]) -> float:
    return procs.metric_sum(samples, "spendgate_upstream_requests_total")


def _drafts_created(samples: dict[str, float]) -> float:
    return procs.metric_sum(samples, "spendgate_drafts_created_total")


# setup ------------------------------------------------------------------------------------------------
async def _capture(port: int, token: str, target: tuple[str, str, str]) -> dict[str, Any]:
    """One real answer of each tool: its structured content and its size on the wire."""
    snapshot = loadgen.tools_call(
        host="127.0.0.1",
        port=port,
        path="/mcp",
        token=token,
        tool="get_account_snapshot",
        arguments={"account_id": ACCOUNTS[0]},
    )
    out: dict[str, Any] = {}
    for name, template in (
        ("get_account_snapshot", snapshot),
        ("propose_budget_change", _proposal(port, token, target)),
    ):
        status, message = await loadgen.call_once("127.0.0.1", port, template)
        result = message.get("result", {})
        if status != 200 or result.get("isError"):
            raise RuntimeError(
                f"{name} failed while capturing its answer: {status} {json.dumps(message)[:600]}"
            )
        out[name] = {
            "structured": result["structuredContent"],
            "bytes": len(json.dumps(message, separators=(",", ":"))),
        }
    return out


def start_baseline(st: procs.Stack, captured: dict[str, Any], workdir: Path) -> Target:
    payloads = workdir / "payloads.json"
    payloads.write_text(json.dumps({k: v["structured"] for k, v in captured.items()}))
    port = procs.free_port()
    service = st.fleet.python(
        "baseline-fastmcp",
        "bench.baseline_mcp",
        "--port",
        str(port),
        "--token",
        st.world.tokens.agent,
        "--payloads",
        str(payloads),
        env=st.env(),
    )
    procs.ready(service, f"http://127.0.0.1:{port}/healthz")
    return Target("baseline", port, [service])


async def _pair(
    st: procs.Stack, h: Hands, workdir: Path
) -> tuple[Target, Target, list[tuple[str, str, str]], dict[str, Any]]:
    """The gateway and a baseline sized from the gateway's real answers."""
    service, base = st.start_gateway()
    gateway = Target("gateway", int(base.rsplit(":", 1)[1]), [service], f"{base}/metrics")
    token = st.world.tokens.agent
    targets = _draft_targets(h)
    captured = await _capture(gateway.port, token, targets[0])
    h.withdraw_pending()
    baseline = start_baseline(st, captured, workdir)
    sizes = {
        "gateway": {k: v["bytes"] for k, v in captured.items()},
        "baseline": {k: v["bytes"] for k, v in (await _capture(baseline.port, token, targets[0])).items()},
    }
    return gateway, baseline, targets, sizes


# reads ------------------------------------------------------------------------------------------------
async def read_round(
    st: procs.Stack, targets: list[Target], *, concurrency: int, plan: Plan
) -> dict[str, dict[str, Any]]:
    token = st.world.tokens.agent
    renders = {t.name: _reads(t.port, token) for t in targets}
    pools = {t.name: loadgen.Pool("127.0.0.1", t.port, concurrency) for t in targets}
    try:
        for t in targets:
            await pools[t.name].timed(renders[t.name], seconds=plan.warmup, max_calls=MAX_CALLS)
        before = {t.name: procs.scrape(t.metrics_url) for t in targets if t.metrics_url}

        async def step(t: Target) -> loadgen.LoadResult:
            return await pools[t.name].timed(renders[t.name], seconds=SLICE_SECONDS, max_calls=MAX_CALLS)

        sides = await interleaved(st, targets, step, seconds=plan.measure, max_steps=10_000)
        after = {t.name: procs.scrape(t.metrics_url) for t in targets if t.metrics_url}
    finally:
        for pool in pools.values():
            await pool.close()
    out = {}
    for t in targets:
        summary = sides[t.name].summary()
        if t.name in before:
            upstream = _upstream(after[t.name]) - _upstream(before[t.name])
            calls = summary["calls"]
            summary["upstream_requests"] = upstream
            summary["upstream_per_1000_calls"] = round(upstream * 1000 / calls, 2) if calls else None
            summary["upstream_per_s"] = (
                round(upstream / summary["seconds"], 2) if summary["seconds"] else None
            )
        out[t.name] = summary
    return out


async def reads_scenario(
    workdir: Path, plan: Plan, log: Callable[[str], None], memory: dict[str, float]
) -> dict[str, Any]:
    with procs.stack(workdir, memory) as st:
        h = hands(st.world)
        try:
            gateway, baseline, _, sizes = await _pair(st, h, workdir)
            out: dict[str, Any] = {
                "response_bytes": sizes,
                "slice_seconds": SLICE_SECONDS,
                "by_concurrency": {},
            }
            for concurrency in plan.read_concurrency:
                rounds = []
                for round_no in range(plan.rounds):
                    order = [gateway, baseline] if round_no % 2 == 0 else [baseline, gateway]
                    r = await read_round(st, order, concurrency=concurrency, plan=plan)
                    rounds.append(r)
                    log(f"reads c={concurrency} round {round_no + 1}: {_line(r)}")
                result = compare(rounds, "gateway", "baseline")
                result["upstream_per_1000_calls"] = _median(
                    [r["gateway"]["upstream_per_1000_calls"] for r in rounds]
                )
                result["upstream_per_s"] = _median([r["gateway"]["upstream_per_s"] for r in rounds])
                out["by_concurrency"][str(concurrency)] = result
            return out
        finally:
            h.close()


# drafts -----------------------------------------------------------------------------------------------
async def drafts_scenario(
    workdir: Path, plan: Plan, log: Callable[[str], None], memory: dict[str, float]
) -> dict[str, Any]:
    """Batches of one proposal per campaign field (108), each call creating a draft; the gateway's
    batches are followed (outside the measured time) by withdrawing them through core, freeing the fields."""
    with procs.stack(workdir, memory) as st:
        h = hands(st.world)
        try:
            gateway, baseline, fields, sizes = await _pair(st, h, workdir)
            token = st.world.tokens.agent
            renders = {
                t.name: [_proposal(t.port, token, f).render for f in fields] for t in (gateway, baseline)
            }

            def after(t: Target) -> None:
                if t is gateway:
                    h.withdraw_pending()

            rounds = []
            for round_no in range(plan.rounds):
                order = [gateway, baseline] if round_no % 2 == 0 else [baseline, gateway]
                pools = {t.name: loadgen.Pool("127.0.0.1", t.port, 8) for t in order}
                try:
                    for t in order:  # warm-up: one batch each
                        await pools[t.name].batch(renders[t.name])
                        after(t)
                    before = procs.scrape(gateway.metrics_url or "")

                    async def step(t: Target) -> loadgen.LoadResult:
                        return await pools[t.name].batch(renders[t.name])  # noqa: B023 - used within the round

                    sides = await interleaved(
                        st,
                        order,
                        step,
                        seconds=plan.measure,
                        max_steps=plan.max_draft_batches * 8,
                        after_step=after,
                    )
                    created = _drafts_created(procs.scrape(gateway.metrics_url or "")) - _drafts_created(
                        before
                    )
                finally:
                    for pool in pools.values():
                        await pool.close()
                r = {t.name: sides[t.name].summary() for t in order}
                r["gateway"]["drafts_created"] = created
                rounds.append(r)
                log(f"drafts round {round_no + 1}: {_line(r)}; {created:.0f} drafts created")
            result = compare(rounds, "gateway", "baseline")
            result.update(fields_per_batch=len(fields), concurrency=8, response_bytes=sizes)
            return result
        finally:
            h.close()


# scale ------------------------------------------------------------------------------------------------
async def gateway_scale_scenario(
    workdir: Path, plan: Plan, log: Callable[[str], None], memory: dict[str, float]
) -> dict[str, Any]:
    """Reads through a round-robin TCP proxy to 1 and to 2 gateway processes, interleaved, one stack."""
    with procs.stack(workdir, memory) as st:
        first, base1 = st.start_gateway("gateway-1")
        second, base2 = st.start_gateway("gateway-2")
        backends = [base1.removeprefix("http://"), base2.removeprefix("http://")]
        targets = []
        for count in (1, 2):
            port = procs.free_port()
            args = [arg for b in backends[:count] for arg in ("--backend", b)]
            proxy = st.fleet.python(f"proxy-{count}", "bench.proxy", "--port", str(port), *args, env=st.env())
            procs.wait_port(proxy, port)
            targets.append(Target(f"{count}p", port, [*[first, second][:count], proxy]))
        concurrency = max(plan.read_concurrency)
        rounds = []
        for round_no in range(plan.rounds):
            order = targets if round_no % 2 == 0 else targets[::-1]
            r = await read_round(st, order, concurrency=concurrency, plan=plan)
            rounds.append(r)
            log(
                f"gateway scale round {round_no + 1}: 1 process {r['1p']['calls_per_s']}/s, "
                f"2 processes {r['2p']['calls_per_s']}/s; errors {r['1p']['errors']}/{r['2p']['errors']}"
            )
        result = compare(rounds, "2p", "1p")
        return {
            "concurrency": concurrency,
            "tool": "get_account_snapshot",
            "1_process": result["1p"],
            "2_processes": result["2p"],
            "speedup": result["ratio"],
            "round_speedups": result["round_ratios"],
            "rounds": rounds,
            "note": "server CPU includes the proxy process",
        }
