"""`python -m spendgate_adsim [--host H] [--port 8090] [--seed N]`: run the sandbox platform."""

from __future__ import annotations

import argparse

from spendgate_adsim.server import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="spendgate_adsim", description="Run adsim, the sandbox platform.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(host=args.host, port=args.port, seed=args.seed)


if __name__ == "__main__":
    main()
