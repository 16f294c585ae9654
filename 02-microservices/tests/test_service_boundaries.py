"""What the split bought, and what it did not — checked on the source code itself.

Bought: the three packages are independent. No service imports another's code; they meet only over
HTTP, so each can be built, deployed and scaled on its own.
Not bought: each service still carries its own infrastructure code (boto3) and its own runtime
branching. This stage is *meant* to look like that; stage 03 is where it changes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STAGE_DIR = Path(__file__).resolve().parents[1]
PACKAGES = ("users_service", "orders_service", "gateway")


def imported_modules(package: str) -> dict[str, set[str]]:
    """{file name: top-level modules it imports} for every module of `package`."""
    found: dict[str, set[str]] = {}
    for path in sorted((STAGE_DIR / package).glob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[path.name] = names
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_another(package: str) -> None:
    others = set(PACKAGES) - {package}
    for module, names in imported_modules(package).items():
        assert not names & others, (
            f"{package}/{module} imports {names & others}: services meet over HTTP only"
        )


@pytest.mark.parametrize("package", ["users_service", "orders_service"])
def test_each_service_still_talks_to_aws_itself(package: str) -> None:
    modules = imported_modules(package)
    assert "boto3" in modules["repository.py"] and "boto3" in modules["config.py"]
    assert "boto3" not in modules["service.py"] and "boto3" not in modules["routes.py"]


def test_the_runtime_branching_exists_once_per_service() -> None:
    for package in ("users_service", "orders_service"):
        source = (STAGE_DIR / package / "config.py").read_text(encoding="utf-8")
        assert all(f'== "{runtime}"' in source for runtime in ("LAMBDA", "ECS", "EKS")), package
