"""`python -m spendgate_approvals [--host H] [--port 8081]`: run the approval service."""

from __future__ import annotations

import argparse

from spendgate_approvals.server import run


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="spendgate-approvals", description="Run the spendgate approval service."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081)")
    args = parser.parse_args()
    run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
