"""shopctl.workshop.exercises: every notebook checks its own exercise, what each exercise owns (reset, status,
check), your diff per stage, the list. (That every checker fails untouched and passes with its reference
solution: tests/exercises/test_solutions.py.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT
from shopctl.workshop import exercises, notebooks, regions
from shopctl.workshop.cases import CaseResult


def test_at_least_one_exercise_per_notebook_and_each_notebook_checks_its_own() -> None:
    assert {e.notebook for e in exercises.EXERCISES} >= {"01", "02", "03", "04", "05"}
    assert sum(e.lesson for e in exercises.EXERCISES) == 1
    for exercise in exercises.EXERCISES:
        path = notebooks.notebook_paths([exercise.notebook])[0]
        nb = notebooks.read(path)
        checks = ["".join(nb.cells[i].source) for i in notebooks.tagged(nb, "check")]
        assert f'exercises.check("{exercise.name}")' in checks, f"{path.name} does not check {exercise.name}"
        task = exercise.task()
        assert "## Hints" in task and task.index("## Hints") > 200, f"{exercise.name}: task, then hints"
        assert exercise.files(), f"{exercise.name}'s solution.patch names no file"


def test_a_crashing_checker_is_one_failed_case_not_an_error(tmp_path: Path) -> None:
    # A tree where the deploy code cannot even be imported: the checker process dies; the verdict says so.
    (tmp_path / "deployment" / "shopctl").mkdir(parents=True)
    (tmp_path / "deployment" / "shopctl" / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    results = exercises.run_checker(exercises.get("users-retry"), tmp_path)
    assert [r.passed for r in results] == [False]
    assert "broken on purpose" in results[0].detail


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A git repository holding HEAD's files: pristine, whatever the learner changed in the working tree."""
    root = tmp_path / "repo"
    root.mkdir()
    regions.export_head(REPO_ROOT, root)
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def _solve(root: Path, *names: str) -> None:
    for name in names:
        subprocess.run(["git", "apply", "-"], cwd=root, input=exercises.get(name).patch(), text=True, check=True)


def _head_with(tmp_path: Path, *names: str) -> Path:
    """HEAD's files with some reference solutions applied (not a git repository): what a file should be."""
    root = tmp_path / ("head-with-" + "-".join(names))
    root.mkdir()
    regions.export_head(REPO_ROOT, root)
    _solve(root, *names)
    return root


def test_your_change_per_stage_is_read_from_your_diff_and_reset_undoes_it(repo_copy: Path) -> None:
    lesson = exercises.get("fourth-runtime")
    _solve(repo_copy, lesson.name)
    mine = exercises.my_change(repo_copy)
    assert {s: bool(c.files) for s, c in mine.items()} == {"monolith": True, "microservices": True, "clean": True}
    # The microservices carry the same ladder twice: two config modules; the clean stage adds a class.
    assert len(mine["microservices"].files) == 2
    clean_definitions = [d for f in mine["clean"].files for d in f.definitions]
    assert any(d.startswith("class ") for d in clean_definitions)
    assert all(c.lines > 0 for c in mine.values())
    # Opened up: the monolith's setting(), each service's setting(), the clean composition root's config_for().
    assert {s: len(c.opened) for s, c in mine.items()} == {"monolith": 1, "microservices": 2, "clean": 1}
    table = exercises.lesson_table(repo_copy).markdown
    assert table.count("existing definitions edited: **") == 3  # the prediction, per stage

    assert exercises.parts(repo_copy).started(lesson.name)
    changed = exercises.reset(lesson, repo_copy)
    assert len(changed) == len(lesson.files()) + 1  # and the line naming the copy
    assert not exercises.parts(repo_copy).started(lesson.name)
    assert all(not c.files and not c.opened for c in exercises.my_change(repo_copy).values())


def test_a_new_file_counts_in_full_and_reset_removes_it(repo_copy: Path) -> None:
    cached = exercises.get("cached-config")
    _solve(repo_copy, cached.name)
    new_file = repo_copy / "03-clean-architecture/clean_shop/adapters/cached_config.py"
    files = {f.file: f for f in exercises.my_change(repo_copy, cached.name)["clean"].files}
    assert "class CachedConfig" in files[str(new_file.relative_to(repo_copy))].definitions
    exercises.reset(cached, repo_copy)
    assert not new_file.exists()


def test_list_reports_todo_for_an_untouched_exercise_and_exits_non_zero(
    repo_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the cheap in-process checkers, on a pristine copy of HEAD (the working tree may hold your solutions).
    verdicts = [
        exercises.judge(e, repo_copy)
        for e in exercises.EXERCISES
        if e.name in ("users-retry", "cached-config", "pod-budget")
    ]
    assert [v.status for v in verdicts] == ["todo"] * 3
    assert exercises._print_verdicts(verdicts, solutions=False) is False
    out = capsys.readouterr().out
    assert "users-retry" in out and "todo" in out and "→" in out


def test_commands_fail_with_one_line_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert exercises.main(["reset", "no-such-exercise"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == "error: no exercise 'no-such-exercise'" and err[1].strip().startswith("hint:")


def test_the_show_cell_holds_task_and_hints_but_not_the_reference_solution() -> None:
    shown = exercises.show("cached-config")._repr_markdown_()
    assert "<summary><b>Hints</b>" in shown and "exercises/cached-config/solution.patch" in shown
    patch = exercises.get("cached-config").patch()
    added = [line[1:] for line in patch.splitlines() if line.startswith("+") and len(line) > 30]
    assert added and not any(line in shown for line in added), "the solution's code is in the notebook cell"
    json.dumps(shown)  # plain text, storable in a notebook


# --- what each exercise owns: reset, status and check concern it alone ---------------------------------

BOOTSTRAP = "03-clean-architecture/clean_shop/bootstrap.py"  # cached-config's and fourth-runtime's


def test_every_exercise_owns_what_its_solution_changes_and_whole_files_are_nobody_else_s() -> None:
    for exercise in exercises.EXERCISES:
        patched = set(re.findall(r"^\+\+\+ b/(\S+)$", exercise.patch(), re.MULTILINE))
        assert patched <= set(exercise.claims()), exercise.name
        for path, claim in exercise.claims().items():
            others = [e.name for e in exercises.EXERCISES if e != exercise and path in e.claims()]
            assert not (claim.whole and others), f"{path} is {exercise.name}'s whole, and {others}'s"


def test_resetting_one_exercise_keeps_the_other_s_work_in_a_shared_file(repo_copy: Path, tmp_path: Path) -> None:
    # cancel-order and fourth-runtime both change 01-monolith/monolith/main.py.
    _solve(repo_copy, "cancel-order", "fourth-runtime")
    main = "01-monolith/monolith/main.py"
    before = (repo_copy / main).read_text()
    said = exercises.reset(exercises.get("fourth-runtime"), repo_copy)
    # main.py is now exactly HEAD with cancel-order's solution: its work intact, fourth-runtime's gone.
    assert (repo_copy / main).read_text() == (_head_with(tmp_path, "cancel-order") / main).read_text()
    for path in exercises.get("fourth-runtime").files():
        if path != main:
            assert (repo_copy / path).read_text() == regions.head_text(repo_copy, path), path
    # What was replaced is kept, and the last line names where.
    copy = said[-1].split(": ", 1)[1].rstrip("/")
    assert (repo_copy / copy / main).read_text() == before
    assert exercises.judge(exercises.get("cancel-order"), repo_copy).status == "passed"


def test_a_definition_two_exercises_share_is_not_reset_while_the_other_has_work_there(repo_copy: Path) -> None:
    # cached-config and fourth-runtime both change config_for() in clean_shop/bootstrap.py.
    _solve(repo_copy, "cached-config", "fourth-runtime")
    bootstrap = repo_copy / BOOTSTRAP
    before = bootstrap.read_text()
    with pytest.raises(ShopctlError, match=r"shares config_for in .*bootstrap\.py with fourth-runtime") as refused:
        exercises.reset(exercises.get("cached-config"), repo_copy)
    assert "FORCE=1" in refused.value.hint
    assert bootstrap.read_text() == before
    said = exercises.reset(exercises.get("cached-config"), repo_copy, force=True)
    # Forced: config_for() is HEAD's again (a copy keeps both exercises' work); fourth-runtime's RUNTIMES stays.
    now, head = regions.units(bootstrap.read_text()), regions.units(regions.head_text(repo_copy, BOOTSTRAP) or "")
    assert now["config_for"].text == head["config_for"].text and "APPRUNNER" in now["RUNTIMES"].text
    assert not (repo_copy / "03-clean-architecture/clean_shop/adapters/cached_config.py").exists()
    assert (repo_copy / said[-1].split(": ", 1)[1] / BOOTSTRAP).read_text() == before


def test_status_comes_from_the_exercise_s_own_part_alone(repo_copy: Path) -> None:
    _solve(repo_copy, "fourth-runtime")  # edits main.py (cancel-order's file too) and bootstrap.py (cached-config's)
    failing = [CaseResult("a case", False, "not yet")]
    assert exercises.status(exercises.get("cancel-order"), failing, repo_copy) == "todo"
    assert exercises.status(exercises.get("cached-config"), failing, repo_copy) == "todo"
    assert exercises.status(exercises.get("fourth-runtime"), failing, repo_copy) == "failed"


def test_another_exercise_s_broken_edit_does_not_reach_this_one_s_check(repo_copy: Path) -> None:
    _solve(repo_copy, "cached-config")
    bootstrap = repo_copy / BOOTSTRAP
    # fourth-runtime half done: its RUNTIMES line in the same file does not parse.
    half_done = 'RUNTIMES = ("LAMBDA", "ECS", "EKS", "APPRUNNER"))'
    text = bootstrap.read_text().replace('RUNTIMES = ("LAMBDA", "ECS", "EKS")', half_done)
    bootstrap.write_text(text)
    assert exercises.judge(exercises.get("cached-config"), repo_copy).status == "passed"
    lesson = exercises.judge(exercises.get("fourth-runtime"), repo_copy)
    line = text.splitlines().index(half_done) + 1
    assert lesson.status == "failed"
    assert [r.detail for r in lesson.results] == [f"{BOOTSTRAP}:{line}: unmatched ')'"]


def test_the_check_of_an_exercise_sees_what_a_shared_definition_needs(repo_copy: Path) -> None:
    # Both bootstrap exercises solved: fourth-runtime's config_for() wraps with CachedConfig, whose module is
    # cached-config's own new file — the copy fourth-runtime is checked on must hold it.
    _solve(repo_copy, "cached-config", "fourth-runtime")
    tree = exercises.parts(repo_copy)
    with regions.isolated_copy(tree, "fourth-runtime") as copy:
        imported = subprocess.run(
            [sys.executable, "-c", "import clean_shop.bootstrap as b; print(b.RUNTIMES)"],
            env={**os.environ, "PYTHONPATH": str(copy / "03-clean-architecture")},
            capture_output=True,
            text=True,
        )
    assert imported.returncode == 0, imported.stderr[-300:]
    assert "APPRUNNER" in imported.stdout
