"""`spendgate audit verify|export`: check the ledger's hash chain and signatures, or dump it as JSON lines.

Talks to Redis directly (SPENDGATE_REDIS_URL, under SPENDGATE_REDIS_NAMESPACE) with the ledger key
(SPENDGATE_LEDGER_KEY_FILE), so an operator can audit even when the services are down.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from pydantic import Field

from spendgate_cli.exits import REFUSED, fail
from spendgate_core.errors import ConfigError
from spendgate_core.runtime.settings import RedisSettings, load_settings

if TYPE_CHECKING:
    from spendgate_core.adapters.ledger import RedisLedger

app = typer.Typer(help="Check and export the tamper-evident ledger.", no_args_is_help=True)


class AuditSettings(RedisSettings):
    ledger_key_file: Path = Field(description="Ed25519 private key (PEM) the ledger was signed with")


@contextmanager
def _ledger() -> Iterator[RedisLedger]:
    # Imported on use, so the rest of the CLI starts without redis and cryptography.
    import redis

    from spendgate_core.adapters.ledger import RedisLedger
    from spendgate_core.contracts.signing import LedgerKeyError, load_signing_key
    from spendgate_core.domain.clock import SystemClock
    from spendgate_core.runtime.bootstrap import redis_keys

    try:
        settings = load_settings(AuditSettings)
        signer = load_signing_key(settings.ledger_key_file)
    except (ConfigError, LedgerKeyError) as exc:
        fail(str(exc))
    client = redis.Redis.from_url(str(settings.redis_url), socket_timeout=10, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        fail(f"cannot reach Redis at {settings.redis_url} (SPENDGATE_REDIS_URL): {exc}")
    try:
        yield RedisLedger(redis=client, signer=signer, clock=SystemClock(), keys=redis_keys(settings))
    finally:
        client.close()


@app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the hash chain and check every signature and the signed checkpoint (exit 1 on any break)."""
    with _ledger() as ledger:
        report = ledger.verify()
    if as_json:
        typer.echo(report.model_dump_json())
    elif report.ok:
        typer.echo(f"ledger ok: {report.entries} entries, chain and signatures verified")
    else:
        typer.echo(
            f"ledger BROKEN at seq {report.first_bad}: {report.reason} ({report.entries} entries checked)"
        )
    if not report.ok:
        raise typer.Exit(REFUSED)


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Write every ledger entry, oldest first, as one canonical JSON object per line."""
    with _ledger() as ledger:
        if output is None:
            count = _write(ledger, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as handle:
                count = _write(ledger, handle)
    typer.echo(f"exported {count} ledger entries" + (f" to {output}" if output else ""), err=True)


def _write(ledger: RedisLedger, out: TextIO) -> int:
    from spendgate_core.contracts.ledger import LedgerCorruptError

    count = 0
    try:
        for entry in ledger.export():
            out.write(entry.canonical() + "\n")
            count += 1
    except LedgerCorruptError as exc:
        out.flush()
        fail(f"export stopped after {count} entries: {exc}", code=REFUSED)
    return count
