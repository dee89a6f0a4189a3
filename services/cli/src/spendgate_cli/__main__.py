"""`python -m spendgate_cli …`: the same CLI as the `spendgate` script (what `spendgate dev` spawns)."""

from spendgate_cli.main import run

run()
