"""The workshop's exercises: the learner changes the real code (or deployment settings), a checker says how far.

    python -m shopctl.workshop.exercises list [--solutions]   # every exercise: notebook, status; exit 1 unless all pass
    python -m shopctl.workshop.exercises check NAME           # one exercise's cases, each passed/failed with a reason
    python -m shopctl.workshop.exercises reset NAME [--force] # put back NAME's own part as HEAD has it
    python -m shopctl.workshop.exercises diff [NAME]          # NAME's own change per stage (lesson: fourth-runtime)

Each exercise lives in exercises/<name>/: task.md (the task, then "## Hints"), solution.patch (the reference
solution as a git diff against HEAD) and owns.txt (the files or top-level definitions that are its own:
shopctl/workshop/regions.py). The registry below says which notebook it belongs to and which checker
(exercise_checks.py) judges it.

A checker always runs in a *separate* Python process whose import path is a scratch copy of HEAD holding
the exercise's own part of the working tree and nothing else: the kernel's imported modules never hide the
learner's latest edit, and another exercise's edits never change this one's verdict. Its status is `todo`
while its own part is as HEAD has it, else `passed` or `failed`. Reset puts back only that part, keeps a copy
of every file it changes under build/exercises/<name>/, and refuses (unless forced) when another exercise
may have worked in a definition the two share.

Regenerating a solution after the code moved on: in a clean tree, make the change, run the checker until it
passes, then `git diff > exercises/<name>/solution.patch` (add new files with `git add -N` first so they
are in the diff) and `python -m shopctl.workshop.exercises reset <name>`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from shopctl import errors
from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT
from shopctl.workshop import regions
from shopctl.workshop.cases import CaseResult
from shopctl.workshop.catalog import EXERCISES, EXERCISES_DIR, Exercise, for_notebook, get, parts
from shopctl.workshop.display import Shown, markdown_table
from shopctl.workshop.lesson import LESSON, as_text, lesson_table, my_change

__all__ = [
    "EXERCISES", "EXERCISES_DIR", "CaseResult", "Exercise", "Shown", "check", "for_notebook", "get", "lesson_table",
    "my_change", "parts", "reset", "show",
]  # fmt: skip

BACKUP_DIR = Path("build") / "exercises"  # under the tree's root: what reset replaced
CHECK_TIMEOUT_S = 240
# The stage folders and the deploy code: put first on a checker's import path, they make the judged tree's
# code win over the virtualenv's .pth entries (which point at the working tree).
SOURCE_DIRS = ("01-monolith", "02-microservices", "03-clean-architecture", "deployment")


# --- running a checker on a tree --------------------------------------------------------------------------


def _checker_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(root / d) for d in SOURCE_DIRS] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.pop("FORCE_COLOR", None)
    # A checker starts what it needs (its own local AWS, run directory): nothing of the caller's session.
    for name in ("AWS_ENDPOINT_URL", "SHOP_RUN_DIR"):
        env.pop(name, None)
    return env


def syntax_error(exercise: Exercise, root: Path, *, shown: Path | None = None) -> str | None:
    """`file:line: message` for the first of the exercise's Python files under `root` that does not parse —
    the line as the same file under `shown` has it (the learner's file, when `root` is a scratch copy)."""
    for path in exercise.files():
        if not path.endswith(".py") or _parses(regions.work_text(root, path) or "", path) is None:
            continue
        return _parses(regions.work_text(shown or root, path) or "", path) or _parses(
            regions.work_text(root, path) or "", path
        )
    return None


def _parses(text: str, path: str) -> str | None:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{path}:{error.lineno}: {error.msg}"
    return None


def run_checker(exercise: Exercise, root: Path = REPO_ROOT, *, shown: Path | None = None) -> list[CaseResult]:
    """Judge the tree at `root` in a fresh interpreter; a checker that crashes is one failed case, not an error.
    A file that does not parse is named as `shown` (the working tree, for a scratch copy of it) has it."""
    if broken := syntax_error(exercise, root, shown=shown):
        return [CaseResult("your code parses", False, broken, "fix that line, then check again")]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "shopctl.workshop.exercises", "_judge", exercise.name],
            cwd=root,
            env=_checker_env(root),
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return [
            CaseResult("the checker finished", False, f"no verdict after {CHECK_TIMEOUT_S} s", "run it in a terminal")
        ]
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("[") and line.endswith("]"):
            return [CaseResult(**case) for case in json.loads(line)]
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return [
        CaseResult(
            "the checker ran",
            False,
            f"it stopped: {last}",
            f"python -m shopctl.workshop.exercises check {exercise.name} shows everything",
        )
    ]


def status(exercise: Exercise, results: list[CaseResult], root: Path = REPO_ROOT) -> str:
    """todo while the exercise's own part is as HEAD has it; else passed or failed, from its own check."""
    if not parts(root).started(exercise.name):
        return "todo"
    return "passed" if all(r.passed for r in results) else "failed"


@dataclass
class Verdict:
    exercise: Exercise
    results: list[CaseResult]
    status: str
    solution: list[CaseResult] | None = None  # with --solutions: the reference solution on a copy of HEAD
    untouched: list[CaseResult] | None = None  # … and the same copy without it

    @property
    def solution_ok(self) -> bool:
        return (
            self.solution is not None
            and all(r.passed for r in self.solution)
            and self.untouched is not None
            and not all(r.passed for r in self.untouched)
        )


def judge(exercise: Exercise, root: Path = REPO_ROOT) -> Verdict:
    """The exercise's own part of the tree at `root`, checked on a copy of HEAD (regions.isolated_copy)."""
    tree = parts(root)
    with regions.isolated_copy(tree, exercise.name) as copy:
        results = run_checker(exercise, copy, shown=root)
    started = tree.started(exercise.name)
    state = "todo" if not started else "passed" if all(r.passed for r in results) else "failed"
    return Verdict(exercise, results, state)


# --- copies of HEAD -------------------------------------------------------------------------------------


@contextmanager
def head_copy(exercise: Exercise | None = None, *, apply_solution: bool = False) -> Iterator[Path]:
    """The files of HEAD in a temporary folder (the working tree plays no part), the solution applied if asked."""
    with tempfile.TemporaryDirectory(prefix="shop-exercise-") as scratch:
        root = Path(scratch)
        regions.export_head(REPO_ROOT, root)
        if exercise and apply_solution:
            applied = subprocess.run(
                ["git", "apply", "--whitespace=nowarn", "-"],
                cwd=root,
                input=exercise.patch(),
                capture_output=True,
                text=True,
            )
            if applied.returncode != 0:
                raise ShopctlError(
                    f"the reference solution of {exercise.name} no longer applies: {applied.stderr.strip()}",
                    "regenerate exercises/<name>/solution.patch (see shopctl/workshop/exercises.py's docstring)",
                )
        yield root


def check_solution(exercise: Exercise) -> tuple[list[CaseResult], list[CaseResult]]:
    """(the checker on a copy of HEAD with the solution applied, … on one without) — the working tree untouched.

    The two run side by side: each checker is its own process, mostly starting servers and waiting on them."""
    from concurrent.futures import ThreadPoolExecutor

    def checked(apply_solution: bool) -> list[CaseResult]:
        with head_copy(exercise, apply_solution=apply_solution) as root:
            return run_checker(exercise, root)

    with ThreadPoolExecutor(max_workers=2) as pool:
        solved = pool.submit(checked, True)
        untouched = checked(False)
        return solved.result(), untouched


# --- reset: only the exercise's own part ------------------------------------------------------------------


def _definitions(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def reset(exercise: Exercise, root: Path = REPO_ROOT, *, force: bool = False) -> list[str]:
    """Put the exercise's own part back as HEAD has it; a copy of each file it changes is kept first.

    Refuses (ShopctlError) when a definition it would reset is shared with another exercise that has work of
    its own — unless `force`. Returns one line per change, the last one naming the copy."""
    tree = parts(root)
    if not force and (conflicts := tree.conflicts(exercise.name)):
        path, key, other = conflicts[0]
        raise ShopctlError(
            f"{exercise.name} shares {key} in {path} with {other}, which has work there too: "
            "resetting it would lose that work",
            f"finish or reset {other} first, or FORCE=1 (make exercise-reset NAME={exercise.name} FORCE=1) "
            f"resets it anyway and keeps a copy under {BACKUP_DIR}/{exercise.name}/",
        )
    changed = tree.changed(exercise.name)
    if not changed:
        return []
    backup = BACKUP_DIR / exercise.name / time.strftime("%Y%m%d-%H%M%S")
    done = []
    for path, keys in sorted(changed.items()):
        text = tree.own_version(exercise.name, path, donor="head")
        target = root / path
        if target.is_file():
            (root / backup / path).parent.mkdir(parents=True, exist_ok=True)
            (root / backup / path).write_bytes(target.read_bytes())
        if text is None:
            regions.git(root, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", path)
            target.unlink(missing_ok=True)
            done.append(f"removed {path}")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            done.append(f"restored {path}" + (f": {_definitions(keys)}" if keys else ""))
    done.append(f"a copy of each file as it was: {backup}/")
    return done


# --- what the notebooks show -------------------------------------------------------------------------------


def _markdown_results(title: str, results: list[CaseResult], state: str) -> str:
    icon = {"passed": "✅", "todo": "📝", "failed": "❌"}[state]
    failed = sum(not r.passed for r in results)
    verdict = (
        "all cases pass 🎉"
        if state == "passed"
        else (
            "not started yet: every case below is still to do"
            if state == "todo"
            else f"{failed} of {len(results)} cases fail"
        )
    )
    rows = [("✅" if r.passed else "❌", r.case, r.detail, "" if r.passed else r.next) for r in results]
    return f"{icon} **{title}: {verdict}**\n\n" + markdown_table(["", "case", "what the checker saw", "look at"], rows)


def show(name: str) -> Shown:
    """The task and its hints, for a notebook cell. The reference solution stays in its patch file."""
    exercise = get(name)
    body, _, hints = exercise.task().partition("## Hints")
    # Links relative to notebooks/ (make lab roots JupyterLab at the repository): they open in Lab's editor.
    files = ", ".join(f"[`{path}`](../{path})" for path in exercise.files() if (REPO_ROOT / path).exists())
    parts = [f"### Exercise `{exercise.name}` — {exercise.title}\n", body.strip()]
    if files:
        parts.append(f"Files to open: {files}.")
    if hints.strip():
        parts.append(f"<details><summary><b>Hints</b> (open one at a time)</summary>\n\n{hints.strip()}\n\n</details>")
    parts.append(
        "Check it with the next cell, or `make exercises`; start again with "
        f"`make exercise-reset NAME={exercise.name}` (it puts back only this exercise's part, and keeps a copy). "
        f"Stuck for good? The reference solution is `exercises/{exercise.name}/solution.patch`."
    )
    return Shown("\n\n".join(parts))


def check(name: str) -> Shown:
    """Check the exercise's own part of the working tree; never raises for a failed case (a notebook keeps running)."""
    verdict = judge(get(name))
    markdown = _markdown_results(verdict.exercise.title, verdict.results, verdict.status)
    return Shown(markdown, verdict.results, verdict.status)


# --- the checkers' process (run by run_checker, inside the tree it judges) ------------------------------


def _judge(name: str) -> int:
    from shopctl.workshop import exercise_checks

    results = getattr(exercise_checks, get(name).checker)()
    print(json.dumps([asdict(r) for r in results]), flush=True)
    return 0


# --- command line ---------------------------------------------------------------------------------------


def list_all(*, solutions: bool = False, say: Callable[[str], None] = print) -> list[Verdict]:
    verdicts = []
    for exercise in EXERCISES:
        say(f"… {exercise.notebook} {exercise.name}: checking its part of the working tree")
        verdict = judge(exercise)
        if solutions:
            say(f"… {exercise.notebook} {exercise.name}: the reference solution, on a copy of HEAD")
            verdict.solution, verdict.untouched = check_solution(exercise)
        verdicts.append(verdict)
    return verdicts


def _print_verdicts(verdicts: list[Verdict], solutions: bool) -> bool:
    print()
    print(f"{'notebook':<9} {'exercise':<16} {'status':<7} " + ("reference solution" if solutions else "title"))
    ok = True
    for v in verdicts:
        if solutions:
            solved = "passes" if v.solution_ok else "FAILS"
            fails_untouched = v.untouched is not None and not all(r.passed for r in v.untouched)
            untouched = "fails, as it should" if fails_untouched else "PASSES — the checker proves nothing"
            detail = f"{solved} (untouched tree: {untouched})"
            ok &= v.solution_ok
        else:
            detail = v.exercise.title
            ok &= v.status == "passed"
        print(f"{v.exercise.notebook:<9} {v.exercise.name:<16} {v.status:<7} {detail}")
        bad = [r for r in (v.solution if solutions else v.results) or [] if not r.passed]
        for r in bad[:3]:
            print(f"          ✗ {r.case}: {r.detail}" + (f" → {r.next}" if r.next else ""))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = errors.ArgumentParser(prog="python -m shopctl.workshop.exercises", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="every exercise with its notebook and status; exit 1 unless all pass")
    listing.add_argument("--solutions", action="store_true", help="check each reference solution on a copy of HEAD")
    for command in ("check", "reset", "diff", "_judge"):
        sub.add_parser(command).add_argument("name", nargs="?" if command == "diff" else None)
    sub.choices["reset"].add_argument(
        "--force", action="store_true", help="reset definitions shared with a started exercise too (a copy is kept)"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "_judge":
            return _judge(args.name)
        if args.command == "list":
            ok = _print_verdicts(list_all(solutions=args.solutions), args.solutions)
            if not ok:
                print(
                    "\n"
                    + (
                        "a reference solution does not pass (see above)"
                        if args.solutions
                        else "not every exercise passes yet — notebooks 01 to 05 hold the tasks"
                    )
                )
            return 0 if ok else 1
        if args.command == "check":
            verdict = judge(get(args.name))
            for r in verdict.results:
                print(("✓ " if r.passed else "✗ ") + f"{r.case}: {r.detail}" + (f" → {r.next}" if r.next else ""))
            print(f"{args.name}: {verdict.status}")
            return 0 if verdict.status == "passed" else 1
        if args.command == "reset":
            changed = reset(get(args.name), force=args.force)
            print("\n".join(changed) or f"{args.name}: nothing to reset, its part is as HEAD has it")
            return 0
        if args.command == "diff":
            print(as_text(my_change(exercise=get(args.name or LESSON).name)))
            return 0
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
