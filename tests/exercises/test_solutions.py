"""Every exercise's checker fails on the untouched tree and passes with its reference solution — proved in
scratch copies, never in the working tree. Marked e2e: the checkers start the stages and local AWS servers
they judge (`make test` runs this beside the deployed targets, tests/run_suites.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from shopctl.paths import REPO_ROOT
from shopctl.workshop import exercises

pytestmark = pytest.mark.e2e


def _status() -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clean_status() -> Iterator[str]:
    before = _status()
    yield before
    assert _status() == before, "checking the solutions changed the working tree"


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: e.name)
def test_the_checker_fails_untouched_and_passes_with_the_reference_solution(
    exercise: exercises.Exercise, clean_status: str
) -> None:
    solved, untouched = exercises.check_solution(exercise)
    failed = [f"{r.case}: {r.detail}" for r in solved if not r.passed]
    assert not failed, f"the reference solution of {exercise.name} fails: {failed}"
    assert any(not r.passed for r in untouched), f"{exercise.name}'s checker passes on the untouched tree"
    # Every failing case says where to look next.
    assert all(r.next for r in untouched if not r.passed)
