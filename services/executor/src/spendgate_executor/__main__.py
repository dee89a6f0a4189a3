"""`python -m spendgate_executor [--burst] [--metrics-port N]`: run one executor worker."""

from __future__ import annotations

import argparse

from spendgate_executor.worker import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="spendgate worker", description="Apply approved spendgate drafts (an RQ worker)."
    )
    parser.add_argument("--burst", action="store_true", help="exit once the apply queue is empty")
    parser.add_argument(
        "--metrics-port", type=int, default=9102, help="port for /metrics and /healthz (0 disables them)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run(burst=args.burst, metrics_port=args.metrics_port)


if __name__ == "__main__":
    main()
