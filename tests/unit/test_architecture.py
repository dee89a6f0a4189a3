"""The house's shape holds: no import cycle in any package (import-linter keeps the layers)."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = [
    "spendgate_core",
    "spendgate_gateway",
    "spendgate_approvals",
    "spendgate_executor",
    "spendgate_adsim",
    "spendgate_cli",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_itself_back(package: str) -> None:
    graph = grimp.build_graph(package)
    cycles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if imported != module and graph.chain_exists(importer=imported, imported=module)
        }
    )
    assert cycles == [], f"import cycles in {package}: {cycles}"
