"""Every Lua script is a file in core's `adapters/lua/` (read once, registered once per client): no Python
module of any service carries Lua, and every file is in use."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from spendgate_core.adapters.commands import lua

SERVICES = Path(__file__).resolve().parents[3] / "services"
LUA = resources.files("spendgate_core.adapters") / "lua"
NAMES = sorted(p.name.removesuffix(".lua") for p in LUA.iterdir() if p.name.endswith(".lua"))
ADAPTERS = "\n".join(
    p.read_text("utf-8") for p in (SERVICES / "core/src/spendgate_core/adapters").rglob("*.py")
)


def test_no_python_module_carries_lua() -> None:
    carriers = [
        str(p.relative_to(SERVICES))
        for p in SERVICES.rglob("*.py")
        if ".venv" not in p.parts and re.search(r"redis\.call\(|redis\.pcall\(", p.read_text("utf-8"))
    ]
    assert carriers == []


@pytest.mark.parametrize("name", NAMES)
def test_each_script_file_loads_and_is_run_or_included(name: str) -> None:
    assert "redis.call" in lua(name)  # its `-- include:` lines resolve
    included = any(f"-- include: {name}\n" in (LUA / f"{other}.lua").read_text("utf-8") for other in NAMES)
    assert included or f'"{name}"' in ADAPTERS, f"lua/{name}.lua is not used"
