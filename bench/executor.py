"""Executor scenarios: apply throughput vs a bare RQ worker (1 and 2 workers), and confirm → applied latency.

Throughput. Each batch pre-creates its work while RQ is suspended (`rq.suspension`), starts fresh
worker processes, waits until every one of them is up and parked on the suspension flag, then resumes
and waits until every job is finished; CPU is read at the resume and at the end. For the executor: one
budget draft and one status draft per campaign (108 campaigns, so 216 drafts; a field can hold one open
draft at a time), proposed, armed and confirmed
through core's use cases, each confirm enqueuing its job through the approval service's RQ adapter, all
status changes before all budget changes so two workers never race on one campaign. For bare RQ: the
same 216 changes as `bench.baseline_rq.apply_like` jobs. The rate comes from the RQ job hashes, over the
window in which every worker is past its first few jobs and none has run dry, so process start-up,
imports and warm-up are left out the same way on both sides.

Latency. One long-running worker, idle; per sample a draft is proposed and armed, then the clock starts
just before `approval.confirm` and stops when Redis shows the draft `applied` (keyspace notifications
on the draft's key, then a GET).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.suspension import resume, suspend

from bench import procs
from bench.baseline_rq import JOB as BARE_JOB
from bench.gateway import ratio
from bench.plan import Plan
from bench.world import Hands, hands
from spendgate_core.contracts.jobs import APPLY_QUEUE, apply_job_id
from spendgate_core.domain.models import CampaignStatus, DraftStatus

BARE_QUEUE = "bench-bare-apply"
WARM_JOBS = 3  # per worker, left out of the rate
BATCH_TIMEOUT = 120.0


def _executor_env(st: procs.Stack) -> dict[str, str]:
    return {**st.env(), "SPENDGATE_METRICS_HOST": "127.0.0.1"}


def steady_rate(jobs: list[Job]) -> dict[str, Any]:
    """Jobs/s over the window where every worker is warm (past WARM_JOBS) and none has run dry yet."""
    by_worker: dict[str, list[tuple[float, float]]] = {}
    for job in jobs:
        assert job.started_at is not None and job.ended_at is not None, job.id
        span = (job.started_at.timestamp(), job.ended_at.timestamp())
        by_worker.setdefault(job.worker_name or "?", []).append(span)
    starts, ends = [], []
    for mine in by_worker.values():
        mine.sort()
        starts.append(mine[min(WARM_JOBS, len(mine) - 1)][0])
        ends.append(max(end for _, end in mine))
    t0, t1 = max(starts), min(ends)
    spans = [span for mine in by_worker.values() for span in mine]
    done = len([end for _, end in spans if t0 < end <= t1])
    first, last = min(start for start, _ in spans), max(end for _, end in spans)
    return {
        "jobs_per_s": round(done / (t1 - t0), 1) if t1 > t0 and done else None,
        "window_jobs": done,
        "window_s": round(t1 - t0, 3),
        "all_jobs_per_s": round(len(jobs) / (last - first), 1) if last > first else None,
        "jobs_per_worker": sorted(len(v) for v in by_worker.values()),
    }


def _commands(client: redis.Redis) -> dict[str, int]:
    """Redis's per-command call counters (INFO commandstats), `info` itself left out."""
    stats = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info"}


def _wait_finished(
    client: redis.Redis, queue_name: str, job_ids: list[str], services: list[procs.Service]
) -> int:
    """Until the queue, its intermediate list and its started registry are empty and every job is done.

    Polls with three cheap commands (not one per job), so the bench adds almost nothing to Redis's load;
    returns how many commands it sent, to be taken out of the per-apply command count.
    """
    queue = Queue(queue_name, connection=client, serializer=JSONSerializer)
    deadline = time.monotonic() + BATCH_TIMEOUT
    sent = 0
    while time.monotonic() < deadline:
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue.key)
        pipe.llen(queue.intermediate_queue_key)
        pipe.zcard(queue.started_job_registry.key)
        sent += 3
        if not any(pipe.execute()):
            pipe = client.pipeline(transaction=False)
            for job_id in job_ids:
                pipe.hget(f"rq:job:{job_id}", "status")
            sent += len(job_ids)
            if all(s in (b"finished", b"failed") for s in pipe.execute()):
                return sent
        for service in services:
            if not service.alive():
                raise RuntimeError(f"{service.name} died:\n{service.log_tail()}")
        time.sleep(0.02)
    raise TimeoutError(f"jobs not finished within {BATCH_TIMEOUT}s")


def _writes(adsim_url: str) -> int:
    rows = httpx.get(f"{adsim_url}/_sim/writes", timeout=30).raise_for_status().json()["writes"]
    return sum(1 for w in rows if w["source"] == "api")


class Batches:
    """Pre-fills and runs batches of applies for the executor and for bare RQ, on one stack."""

    def __init__(self, st: procs.Stack, h: Hands, log: Callable[[str], None]) -> None:
        self.st, self.h, self.log = st, h, log
        self.count = 0

    # pre-fill ---------------------------------------------------------------------------------------
    def prefill_executor(self) -> list[str]:
        """216 approved drafts, each confirm enqueuing its job (no worker is running)."""
        h = self.h
        up = self.count % 2 == 0  # alternate, so budgets wander around their seed values
        campaigns = h.campaigns()
        # Status changes first: enabling is checked against the budget it was drafted with, so the
        # same campaign's budget change must not land before it.
        drafts = [h.propose_status(a, c) for a, c in campaigns]
        drafts += [h.propose_budget(a, c, up=up) for a, c in campaigns]
        job_ids = []
        for draft in drafts:
            confirmed = h.confirm(draft, h.arm(draft))
            assert confirmed.status is DraftStatus.APPROVED, confirmed.status
            job_ids.append(apply_job_id(confirmed.id, confirmed.version))
        return job_ids

    def prefill_bare(self) -> list[str]:
        h = self.h
        up = self.count % 2 == 0
        queue = Queue(BARE_QUEUE, connection=h.redis, serializer=JSONSerializer)
        campaigns = h.campaigns()
        changes: list[tuple[str, str, str, int | str]] = []
        for account, c in campaigns:
            flipped = CampaignStatus.PAUSED if c.status is CampaignStatus.ENABLED else CampaignStatus.ENABLED
            changes.append((account, c.id, "status", flipped.value))
        for account, c in campaigns:
            step = max(1, c.daily_budget // 50)
            changes.append(
                (account, c.id, "daily_budget", c.daily_budget + step if up else c.daily_budget - step)
            )
        job_ids = []
        for n, (account, campaign, field, value) in enumerate(changes):
            job_id = f"bare-{self.count}-{n}"
            queue.enqueue_call(
                BARE_JOB,
                args=(account, campaign, field, value, f"bench-{self.count}-{n}"),
                job_id=job_id,
                unique=True,
            )
            job_ids.append(job_id)
        return job_ids

    # run --------------------------------------------------------------------------------------------
    def _start(self, side: str, workers: int) -> tuple[list[procs.Service], list[int]]:
        st = self.st
        services, ports = [], []
        for n in range(workers):
            if side == "executor":
                port = procs.free_port()
                ports.append(port)
                services.append(
                    st.fleet.python(
                        f"executor-worker-{n + 1}",
                        "spendgate_executor",
                        "--metrics-port",
                        str(port),
                        env=_executor_env(st),
                    )
                )
            else:
                services.append(
                    st.fleet.python(
                        f"bare-rq-worker-{n + 1}", "bench.baseline_rq", "--queue", BARE_QUEUE, env=st.env()
                    )
                )
        return services, ports

    def _wait_parked(self, services: list[procs.Service]) -> None:
        """Until every worker has started up and is waiting on RQ's suspension flag."""
        pids = {s.pid for s in services}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            parked = {w.pid for w in Worker.all(connection=self.h.redis) if w.get_state() == "suspended"}
            if pids <= parked:
                return
            for service in services:
                if not service.alive():
                    raise RuntimeError(f"{service.name} died:\n{service.log_tail()}")
            time.sleep(0.05)
        raise TimeoutError("workers did not start within 60 s")

    def run(self, side: str, workers: int) -> dict[str, Any]:
        """Pre-fill with RQ suspended, start the workers, wait until they are parked, then resume and
        measure: CPU is read at resume and at the end, so start-up is outside every number."""
        st, h = self.st, self.h
        suspend(h.redis)
        job_ids = self.prefill_executor() if side == "executor" else self.prefill_bare()
        self.count += 1
        writes0 = _writes(st.world.adsim_url)
        services, ports = self._start(side, workers)
        try:
            self._wait_parked(services)
            cpu0, backing0, commands0 = sum(s.cpu() for s in services), st.backing_cpu(), _commands(h.redis)
            resume(h.redis)
            polled = _wait_finished(
                h.redis, APPLY_QUEUE if side == "executor" else BARE_QUEUE, job_ids, services
            )
            cpu = sum(s.cpu() for s in services) - cpu0
            backing = {k: v - backing0[k] for k, v in st.backing_cpu().items()}
            commands1 = _commands(h.redis)
            upstream = applied = 0.0
            for port in ports:
                samples = procs.scrape(f"http://127.0.0.1:{port}/metrics")
                upstream += procs.metric_sum(samples, "spendgate_upstream_requests_total")
                applied += procs.metric_sum(samples, "spendgate_applies_total", outcome="applied")
        finally:
            for service in services:
                st.fleet.stop(service)
        jobs = [
            j for j in Job.fetch_many(job_ids, connection=h.redis, serializer=JSONSerializer) if j is not None
        ]
        failed = [j for j in jobs if j.get_status(refresh=False) != "finished"]
        n = len(job_ids)
        out = steady_rate(jobs)
        out.update(
            jobs=n,
            failed=len(failed),
            adsim_writes=_writes(st.world.adsim_url) - writes0,
            worker_cpu_ms_per_apply=round(cpu * 1000 / n, 3),
            redis_cpu_ms_per_apply=round(backing["redis"] * 1000 / n, 3),
            redis_commands_per_apply=round(
                (sum(commands1.values()) - sum(commands0.values()) - polled - 1) / n, 1
            ),
            top_redis_commands_per_apply={
                k: round((v - commands0.get(k, 0)) / n, 2)
                for k, v in sorted(commands1.items(), key=lambda kv: commands0.get(kv[0], 0) - kv[1])[:12]
            },
            adsim_cpu_ms_per_apply=round(backing["adsim"] * 1000 / n, 3),
        )
        if failed:
            result = failed[0].latest_result()
            out["first_failure"] = str(result.exc_string if result is not None else "?")[-800:]
        if side == "executor":
            out["upstream_requests"] = upstream
            out["upstream_per_apply"] = round(upstream / n, 2)
            out["applied"] = applied
            out["not_applied"] = sum(
                1 for j in job_ids if h.core.store.get(_draft_of(j)).status is not DraftStatus.APPLIED
            )
        else:
            out["upstream_per_apply"] = 3.0  # by construction: GET, PATCH, GET
        return out


def _draft_of(job_id: str) -> str:
    return job_id.removeprefix("apply-").rsplit("-v", 1)[0]


def executor_scenario(
    workdir: Path, plan: Plan, log: Callable[[str], None], memory: dict[str, float]
) -> dict[str, Any]:
    with procs.stack(workdir, memory) as st:
        h = hands(st.world)
        try:
            batches = Batches(st, h, log)
            sides = [("executor", 1), ("bare", 1), ("executor", 2), ("bare", 2)]
            runs: dict[str, list[dict[str, Any]]] = {f"{s}x{w}": [] for s, w in sides}
            for round_no in range(plan.executor_rounds):
                # Each comparison's two batches run back to back (so they see the same background load),
                # the pair's order alternating between rounds.
                pairs = [sides[:2], sides[2:]]
                order = [p if round_no % 2 == 0 else p[::-1] for p in pairs]
                for side, workers in (batch for pair in order for batch in pair):
                    r = batches.run(side, workers)
                    runs[f"{side}x{workers}"].append(r)
                    log(
                        f"executor round {round_no + 1} {side} x{workers}: {r['jobs_per_s']} jobs/s, "
                        f"{r['worker_cpu_ms_per_apply']} ms worker CPU/apply ({r['failed']} failed, "
                        f"{r['upstream_per_apply']} upstream requests/apply"
                        + (f", {r['not_applied']} drafts NOT applied)" if r.get("not_applied") else ")")
                    )
            per_round = [
                ratio(a["jobs_per_s"], b["jobs_per_s"])
                for a, b in zip(runs["executorx1"], runs["barex1"], strict=True)
            ]
            med = {k: _median([r["jobs_per_s"] for r in v]) for k, v in runs.items()}
            cpu = {
                k: {
                    part: _median([r[f"{part}_cpu_ms_per_apply"] for r in v])
                    for part in ("worker", "redis", "adsim")
                }
                for k, v in runs.items()
            }
            warnings = []
            missed = sum(r.get("not_applied", 0) for v in runs.values() for r in v)
            if missed:
                warnings.append(
                    f"executor: {missed} approved drafts did not end applied; the rates are not comparable"
                )
            ours = _median([r["upstream_per_apply"] for r in runs["executorx1"]])
            if ours is not None and abs(ours - 3.0) > 0.05:
                warnings.append(
                    f"executor: an apply made {ours} upstream requests but the bare job makes 3; "
                    "update bench/baseline_rq.py to match"
                )
            return {
                "warnings": warnings,
                "changes_per_batch": 216,
                "median_jobs_per_s": med,
                "cpu_ms_per_apply": cpu,
                "ratio": _median(per_round),
                "round_ratios": per_round,
                "ratio_of_medians": ratio(med["executorx1"], med["barex1"]),
                "executor_speedup_2_workers": ratio(med["executorx2"], med["executorx1"]),
                "bare_speedup_2_workers": ratio(med["barex2"], med["barex1"]),
                "runs": runs,
            }
        finally:
            h.close()


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 2)


def latency_scenario(
    workdir: Path, plan: Plan, log: Callable[[str], None], memory: dict[str, float]
) -> dict[str, Any]:
    with procs.stack(workdir, memory) as st:
        h = hands(st.world)
        listener = redis.Redis.from_url(st.world.redis_url)
        try:
            port = procs.free_port()
            worker = st.fleet.python(
                "executor-worker", "spendgate_executor", "--metrics-port", str(port), env=_executor_env(st)
            )
            procs.ready(worker, f"http://127.0.0.1:{port}/healthz")
            h.redis.config_set("notify-keyspace-events", "K$")  # string-command events on our private Redis
            pubsub = listener.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            fields = [(a, c.id) for a, c in h.campaigns()]
            total: list[float] = []
            confirm_ms: list[float] = []
            job_ids: list[str] = []
            for i in range(plan.latency_warmup + plan.latency_samples):
                account, campaign_id = fields[i % len(fields)]
                campaign = h.core.reader.get_campaign(account, campaign_id)
                draft = h.propose_budget(account, campaign, up=(i // len(fields)) % 2 == 0)
                token = h.arm(draft)
                key = h.keys.draft(draft.id)
                channel = f"__keyspace@0__:{key}"
                pubsub.subscribe(channel)
                listener_ready(pubsub)
                time.sleep(0.02)  # the worker is back in its blocking dequeue: an idle queue
                started = time.perf_counter()
                confirmed = h.confirm(draft, token)
                confirmed_at = time.perf_counter()
                applied_at = _wait_applied(h.redis, pubsub, key, deadline=started + 10)
                pubsub.unsubscribe(channel)
                if i < plan.latency_warmup:
                    continue
                total.append((applied_at - started) * 1000)
                confirm_ms.append((confirmed_at - started) * 1000)
                job_ids.append(apply_job_id(confirmed.id, confirmed.version))
            pubsub.close()
            time.sleep(0.5)  # the last job's bookkeeping (ended_at) follows the applied draft by a moment
            breakdown = [
                (
                    (job.started_at - job.enqueued_at).total_seconds() * 1000,
                    (job.ended_at - job.started_at).total_seconds() * 1000,
                )
                for job in Job.fetch_many(job_ids, connection=h.redis, serializer=JSONSerializer)
                if job is not None and job.enqueued_at and job.started_at and job.ended_at
            ]
            out = {
                "samples": len(total),
                "p50_ms": _pct(total, 50),
                "p90_ms": _pct(total, 90),
                "p99_ms": _pct(total, 99),
                "max_ms": round(max(total), 2),
                "confirm_call_p50_ms": _pct(confirm_ms, 50),
                "enqueue_to_start_p50_ms": _pct([b[0] for b in breakdown], 50)
                if len(breakdown) > 1
                else None,
                "job_run_p50_ms": _pct([b[1] for b in breakdown], 50) if len(breakdown) > 1 else None,
                "job_run_p99_ms": _pct([b[1] for b in breakdown], 99) if len(breakdown) > 1 else None,
            }
            log(f"latency: p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms over {len(total)} samples")
            return out
        finally:
            listener.close()
            h.close()


def listener_ready(pubsub: Any) -> None:
    """Make sure the SUBSCRIBE is live before the clock starts: Redis answers a PING on the same
    connection only after it has processed everything sent before it."""
    pubsub.ping()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message is not None and message["type"] == "pong":
            return
    raise TimeoutError("the keyspace subscription was not confirmed")


def _wait_applied(client: redis.Redis, pubsub: Any, key: str, *, deadline: float) -> float:
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise TimeoutError(f"{key} not applied within 10 s")
        message = pubsub.get_message(timeout=remaining)
        if message is None or message["type"] != "message":
            continue
        raw = client.get(key)
        if raw is not None and json.loads(raw)["status"] == DraftStatus.APPLIED.value:
            return time.perf_counter()
