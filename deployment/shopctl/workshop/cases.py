"""One case of an exercise's check: what the checkers (exercise_checks.py) return and exercises.py reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Case = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    detail: str  # one line: what was seen
    next: str = ""  # for a failed case: where to look next


def case(name: str, body: Case, next_step: str) -> CaseResult:
    """Run one case; the learner's code may raise anything: that is a failed case, not a crashed check."""
    try:
        passed, detail = body()
    except Exception as error:
        passed, detail = False, f"raised {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return CaseResult(name, passed, detail, "" if passed else next_step)
