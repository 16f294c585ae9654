"""The tools around the exercises work: every notebook checks its own, reset, your diff per stage, the list.
(That every checker fails untouched and passes with its reference solution: test_solutions.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shopctl.workshop import exercises, notebooks


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
    """A git repository holding a copy of the tree (so reset and the diff work on it, not on ours)."""
    with exercises.scratch_copy() as scratch:
        shutil.copytree(scratch, tmp_path / "repo")
    root = tmp_path / "repo"
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def test_your_change_per_stage_is_read_from_your_diff_and_reset_undoes_it(repo_copy: Path) -> None:
    lesson = exercises.get("fourth-runtime")
    subprocess.run(["git", "apply", "-"], cwd=repo_copy, input=lesson.patch(), text=True, check=True)
    mine = exercises.my_change(repo_copy)
    assert {s: bool(c["files"]) for s, c in mine.items()} == {"monolith": True, "microservices": True, "clean": True}
    # The microservices carry the same ladder twice: two config modules; the clean stage adds a class.
    assert len(mine["microservices"]["files"]) == 2
    clean_definitions = [d for f in mine["clean"]["files"] for d in f["definitions"]]
    assert any(d.startswith("class ") for d in clean_definitions)
    assert all(c["lines"] > 0 for c in mine.values())
    # Opened up: the monolith's setting(), each service's setting(), the clean composition root's config_for().
    assert {s: c["existing"] for s, c in mine.items()} == {"monolith": 1, "microservices": 2, "clean": 1}
    table = exercises.lesson_table(repo_copy).markdown
    assert table.count("existing definitions edited: **") == 6  # yours and the prediction, per stage

    assert exercises.touched(lesson, repo_copy)
    changed = exercises.reset(lesson, repo_copy)
    assert len(changed) == len(lesson.files())
    assert not exercises.touched(lesson, repo_copy)
    assert exercises.my_change(repo_copy) == {
        s: {"files": [], "definitions": 0, "existing": 0, "lines": 0} for s in mine
    }


def test_a_new_file_counts_in_full_and_reset_removes_it(repo_copy: Path) -> None:
    cached = exercises.get("cached-config")
    subprocess.run(["git", "apply", "-"], cwd=repo_copy, input=cached.patch(), text=True, check=True)
    new_file = repo_copy / "03-clean-architecture/clean_shop/adapters/cached_config.py"
    files = {f["file"]: f for f in exercises.my_change(repo_copy)["clean"]["files"]}
    assert "class CachedConfig" in files[str(new_file.relative_to(repo_copy))]["definitions"]
    exercises.reset(cached, repo_copy)
    assert not new_file.exists()


def test_list_reports_todo_for_an_untouched_exercise_and_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    # Only the cheap in-process checkers, on the working tree as it is (untouched in the tests).
    verdicts = [
        exercises.Verdict(e, r := exercises.run_checker(e), exercises.status(e, r))
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


def test_the_show_cell_holds_task_hints_and_the_folded_solution() -> None:
    shown = exercises.show("cached-config")._repr_markdown_()
    assert "<summary><b>Hints</b>" in shown and "<summary><b>Reference solution</b>" in shown
    assert exercises.get("cached-config").patch() in shown
    json.dumps(shown)  # plain text, storable in a notebook
