"""The workshop notebooks run top to bottom, are stored clean, and their exercise check is real.

Every notebook is executed with this virtualenv's kernel, as `make notebooks` does (two side by side);
each starts its own local AWS on a free port and must stop everything it started. The exercise notebook
is also executed with its blank template, where the check cell must fail.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clean_shop.adapters.config import EKSConfigAdapter
from clean_shop.application.errors import ConfigurationError
from clean_shop.application.ports import ConfigPort
from shopctl import exercises, notebooks, workshop
from shopctl.compare import cli as compare_cli

PATHS = notebooks.notebook_paths()
EXERCISE = next(p for p in PATHS if notebooks.tagged(notebooks.read(p), "exercise"))


def test_the_workshop_has_its_notebooks_in_learning_order() -> None:
    assert [p.name[:2] for p in PATHS] == [f"{i:02d}" for i in range(len(PATHS))]
    assert len(PATHS) >= 6
    assert set(notebooks.SLOWEST) <= {p.stem for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebooks_are_stored_without_outputs(path: Path) -> None:
    assert notebooks.stored_outputs(path) == [], "run `.venv/bin/python -m shopctl.notebooks strip` before committing"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_each_notebook_states_goal_prerequisites_time_recap_and_cleans_up(path: Path) -> None:
    nb = notebooks.read(path)
    intro = nb.cells[0].source
    assert all(part in intro for part in ("**Goal:**", "**Prerequisites:**", "**Estimated time:**"))
    assert any("## What you learned" in c.source for c in nb.cells if c.cell_type == "markdown")
    assert "session.close()" in [c for c in nb.cells if c.cell_type == "code"][-1].source
    assert nb.metadata.kernelspec.name == notebooks.KERNEL


# --- the exercise checker, without a kernel --------------------------------------------------------------


def _exercise_class(source: str) -> type:
    namespace = {"json": json, "Path": Path, "ConfigPort": ConfigPort, "ConfigurationError": ConfigurationError}
    exec(compile(source, str(EXERCISE), "exec"), namespace)
    return namespace["MyEKSConfigAdapter"]


def test_the_checker_accepts_the_real_adapter() -> None:
    assert exercises.check_eks_config_adapter(EKSConfigAdapter).passed


def test_the_checker_passes_the_reference_solution_and_fails_the_blank_template() -> None:
    nb = notebooks.read(EXERCISE)
    template = nb.cells[notebooks.tagged(nb, "exercise")[0]].source
    solution = notebooks.solution_code(nb.cells[notebooks.tagged(nb, "solution")[0]].source)
    assert exercises.check_eks_config_adapter(_exercise_class(solution)).passed
    with pytest.raises(exercises.ExerciseFailed, match="reads nested keys"):
        exercises.check_eks_config_adapter(_exercise_class(template))


def test_the_checker_names_the_case_a_nearly_right_adapter_misses() -> None:
    class NoTypeCheck(EKSConfigAdapter):  # returns whatever the file holds, 42 included
        def get(self, key: str) -> str:
            node = self._load()
            for part in key.split("/"):
                if not isinstance(node, dict) or part not in node:
                    raise ConfigurationError(f"config key {key!r} not found in {self._path}")
                node = node[part]
            return node

    failed = [r.case for r in exercises.eks_config_cases(NoTypeCheck) if not r.passed]
    assert failed == ["the table name is not a string: ConfigurationError"]


def test_the_checker_rejects_a_class_that_is_not_a_config_port() -> None:
    with pytest.raises(exercises.ExerciseFailed, match="implements ConfigPort"):
        exercises.check_eks_config_adapter(dict)


# --- executing them --------------------------------------------------------------------------------------


@dataclass
class Executed:
    results: dict[str, notebooks.Result]  # by notebook stem, run with the reference solutions
    blank: notebooks.Result  # the exercise notebook with its blank template
    sessions: Path  # where the notebooks' sessions kept their run directories


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, quick_compare) -> Iterator[Executed]:
    sessions = tmp_path_factory.mktemp("notebook-sessions")
    mp = pytest.MonkeyPatch()
    mp.setenv(workshop.SESSION_ROOT_ENV, str(sessions))  # the kernels inherit it: sessions go there
    # Notebook 05 shows the latest `make compare` report: this session's quick one (measured once).
    mp.setenv(compare_cli.OUT_ENV, str(quick_compare[1]))
    try:
        jobs = [(p, True) for p in notebooks.scheduling_order(PATHS)]
        *results, blank = notebooks.execute_many([*jobs, (EXERCISE, False)], workers=2)
    finally:
        mp.undo()
    yield Executed({r.path.stem: r for r in results}, blank, sessions)


@pytest.mark.e2e
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(executed: Executed, path: Path) -> None:
    result = executed.results[path.stem]
    assert result.ok, f"{path.name}: cell {result.failed_cell} raised {result.error}"


@pytest.mark.e2e
def test_the_exercise_check_fails_on_the_blank_template(executed: Executed) -> None:
    assert not executed.blank.ok
    assert executed.blank.failed_tags() == ["check"]
    assert executed.blank.error.startswith("ExerciseFailed: ")


@pytest.mark.e2e
def test_the_kernel_is_this_virtualenvs_python(executed: Executed) -> None:
    welcome = executed.results[PATHS[0].stem]
    outputs = json.dumps([cell.get("outputs", []) for cell in welcome.notebook.cells])
    assert json.dumps(sys.executable)[1:-1] in outputs  # notebook 00's environment check shows the interpreter


@pytest.mark.e2e
def test_every_notebook_stopped_what_it_started(executed: Executed) -> None:
    # A session's run directory holds the pid files of what it started; close() (the cleanup cell, or the
    # kernel's exit after a failing cell) stops it all and removes the directory.
    assert list(executed.sessions.iterdir()) == []
