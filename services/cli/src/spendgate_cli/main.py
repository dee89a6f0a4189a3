"""The `spendgate` command: builds the typer app from the command modules and runs it."""

from __future__ import annotations

import typer

from spendgate_cli import audit, drafts, principals, services
from spendgate_cli.dev.command import dev


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="spendgate",
        help="Your AI can read and draft; nothing spends without a two-step human approval.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # plain click help: paragraphs re-wrap to the terminal width
    )
    app.command(rich_help_panel="Services")(services.gateway)
    app.command(rich_help_panel="Services")(services.approvals)
    app.command(rich_help_panel="Services")(services.worker)
    app.command(rich_help_panel="Services")(services.adsim)
    app.command(rich_help_panel="Services")(dev)
    app.add_typer(drafts.app, name="drafts", rich_help_panel="Approvers")
    app.add_typer(audit.app, name="audit", rich_help_panel="Operators")
    app.add_typer(principals.app, name="principal", rich_help_panel="Operators")
    return app


def run() -> None:
    """Console-script entrypoint (`spendgate = "spendgate_cli.main:run"`)."""
    build_app()()
