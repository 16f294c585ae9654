"""The dependency rule, as tests.

    entrypoints -> bootstrap -> adapters -> application -> domain

Arrows point inwards only, and the two inner layers import nothing but the standard library. The
rule is written once, as import-linter contracts in pyproject.toml ([tool.importlinter]); these tests
run them, and then break a copy of the package on purpose to show the contracts really bite.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

STAGE = Path(__file__).resolve().parents[1]
REPO = STAGE.parent
PACKAGE = STAGE / "clean_shop"
PYPROJECT = REPO / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

CONTRACTS = [contract["name"] for contract in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]]
LAYERS_CONTRACT = next(name for name in CONTRACTS if name.startswith("Clean architecture layers"))
PURITY_CONTRACT = next(name for name in CONTRACTS if name.startswith("Domain and application are pure"))
ENTRYPOINTS_CONTRACT = next(name for name in CONTRACTS if name.startswith("Entrypoints never import adapters"))


def lint_imports(pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # keep each contract's name on one line of the report
    if pythonpath is not None:  # put a copy of clean_shop in front of the real one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(PYPROJECT), "--no-cache", "--no-logo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def broken_contracts(output: str) -> set[str]:
    report = " ".join(output.split())
    return {name for name in CONTRACTS if f"{name} BROKEN" in report}


@pytest.fixture(scope="module")
def lint_imports_available() -> None:
    if not LINT_IMPORTS.exists():
        pytest.skip(f"{LINT_IMPORTS} not found (install the dev extras: make venv)")


def test_the_import_contracts_are_kept(lint_imports_available) -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("domain/model.py", "from clean_shop.adapters import memory_repository", LAYERS_CONTRACT),
        ("application/use_cases.py", "from clean_shop import bootstrap", LAYERS_CONTRACT),
        ("domain/model.py", "import boto3", PURITY_CONTRACT),
        ("application/ports.py", "import os", PURITY_CONTRACT),
        ("application/use_cases.py", "from pydantic import BaseModel", PURITY_CONTRACT),
        ("entrypoints/http.py", "from clean_shop.adapters import memory_repository", ENTRYPOINTS_CONTRACT),
    ],
)
def test_the_contracts_catch_a_violation(
    lint_imports_available, tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    copy = tmp_path / "clean_shop"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / module).write_text((copy / module).read_text() + f"\n{bad_import}  # a deliberate violation\n")

    result = lint_imports(pythonpath=tmp_path)

    assert result.returncode != 0, result.stdout
    # (Importing bootstrap from the application breaks purity too: bootstrap imports boto3 and os,
    # and import-linter follows indirect imports.)
    assert contract in broken_contracts(result.stdout), result.stdout


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if p.name != "bootstrap.py"),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_composition_root_reads_the_process_environment(path: Path) -> None:
    """RUNTIME is read once, in bootstrap.py; everything else is handed what it needs."""
    assert "os" not in _imported_modules(path)
    assert "RUNTIME" not in _string_constants(path)
