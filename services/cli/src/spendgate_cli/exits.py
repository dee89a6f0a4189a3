"""Exit codes shared by every command, and the one way a command stops with a message.

0  done
1  refused: the server (or the ledger check) said no, or the user declined
2  usage or configuration: fix the command line or the environment and try again
"""

from __future__ import annotations

from typing import NoReturn

import typer

OK = 0
REFUSED = 1
USAGE = 2


def fail(message: str, *, code: int = USAGE) -> NoReturn:
    """Print `message` on stderr and exit with `code`."""
    typer.echo(f"spendgate: {message}", err=True)
    raise typer.Exit(code)
