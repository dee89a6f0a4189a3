"""The README's configuration reference names every environment variable a service or the CLI reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from spendgate_adsim.settings import AdsimSettings
from spendgate_approvals.settings import ApprovalsSettings
from spendgate_cli.audit import AuditSettings
from spendgate_executor.settings import ExecutorSettings
from spendgate_gateway.settings import GatewaySettings

README = Path(__file__).resolve().parents[2] / "README.md"


def reference() -> str:
    text = README.read_text()
    return text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "settings", [GatewaySettings, ApprovalsSettings, ExecutorSettings, AdsimSettings, AuditSettings]
)
def test_every_setting_is_documented(settings: type[BaseSettings]) -> None:
    prefix = str(settings.model_config.get("env_prefix", ""))
    missing = [
        f"{prefix}{name}".upper()
        for name in settings.model_fields
        if f"`{prefix}{name}`".upper() not in reference().upper()
    ]
    assert not missing, f"README.md's configuration reference does not document {missing}"


def test_the_cli_variables_are_documented() -> None:
    for name in ("SPENDGATE_TOKEN", "SPENDGATE_APPROVALS_URL", "SPENDGATE_PRINCIPALS_FILE"):
        assert f"`{name}`" in reference()
