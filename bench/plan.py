"""How long and how often each scenario runs: the full run and the `--quick` smoke run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    rounds: int  # rounds per comparison; each round measures every side once, alternating who goes first
    warmup: float  # seconds of load before each measured window
    measure: float  # seconds of measured load per side per round
    read_concurrency: tuple[int, ...]
    max_draft_batches: int  # cap on 108-proposal batches per measured window
    executor_rounds: int
    latency_samples: int
    latency_warmup: int


FULL = Plan(
    name="full",
    rounds=3,
    warmup=1.5,
    measure=4.0,
    read_concurrency=(8, 32),
    max_draft_batches=40,
    executor_rounds=5,
    latency_samples=200,
    latency_warmup=10,
)

QUICK = Plan(
    name="quick",
    rounds=1,
    warmup=0.5,
    measure=1.0,
    read_concurrency=(8, 32),
    max_draft_batches=5,
    executor_rounds=1,
    latency_samples=20,
    latency_warmup=3,
)
