"""The exercises: each one's name, notebook, title, checker and what it owns (exercises/<name>/owns.txt), and
every exercise's own part of a tree. Below both the commands (exercises.py) and the lesson table (lesson.py),
which read the same catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT
from shopctl.workshop import regions

EXERCISES_DIR = REPO_ROOT / "exercises"


@dataclass(frozen=True)
class Exercise:
    name: str
    notebook: str  # "01" … "05"
    title: str
    checker: str  # the name of a function in exercise_checks
    lesson: bool = False  # the exercise that carries the talk's lesson: the same change in all three stages

    @property
    def folder(self) -> Path:
        return EXERCISES_DIR / self.name

    def task(self) -> str:
        return (self.folder / "task.md").read_text()

    def patch(self) -> str:
        return (self.folder / "solution.patch").read_text()

    def claims(self) -> dict[str, regions.Claim]:
        """What the exercise owns (owns.txt): path -> the whole file, or some of its top-level definitions."""
        return regions.read_claims((self.folder / regions.OWNS_FILE).read_text())

    def files(self) -> list[str]:
        return sorted(self.claims())


EXERCISES: tuple[Exercise, ...] = (
    Exercise("cancel-order", "01", "A feature in the monolith: cancel a pending order", "cancel_order"),
    Exercise("users-retry", "02", "The network call: retry the users-service once before answering 503", "users_retry"),
    Exercise("cached-config", "03", "A new adapter: configuration cached for a limited time", "cached_config"),
    Exercise("pod-budget", "04", "Deployment settings: keep a replica up while EKS replaces nodes", "pod_budget"),
    Exercise(
        "fourth-runtime",
        "05",
        "The talk's lesson: a fourth runtime (App Runner) in all three stages",
        "fourth_runtime",
        lesson=True,
    ),
)


def get(name: str) -> Exercise:
    for exercise in EXERCISES:
        if exercise.name == name:
            return exercise
    raise ShopctlError(f"no exercise {name!r}", "one of: " + ", ".join(e.name for e in EXERCISES))


def for_notebook(notebook: str) -> list[Exercise]:
    return [e for e in EXERCISES if e.notebook == notebook]


def parts(root: Path = REPO_ROOT) -> regions.Tree:
    """Every exercise's own part of the tree at `root`, against its HEAD."""
    return regions.Tree.read(root, {e.name: e.claims() for e in EXERCISES})
