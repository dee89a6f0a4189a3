"""`python -m spendgate_gateway [--host H] [--port P]`: run the MCP gateway."""

from __future__ import annotations

import argparse

from spendgate_gateway.server import run


def main() -> None:
    parser = argparse.ArgumentParser(prog="spendgate_gateway", description="Run the spendgate MCP gateway.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    args = parser.parse_args()
    run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
