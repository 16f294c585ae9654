"""The workshop's exercises: the learner changes the real code (or deployment settings), a checker says how far.

    python -m shopctl.workshop.exercises list [--solutions]   # every exercise: notebook, status; exit 1 unless all pass
    python -m shopctl.workshop.exercises check NAME           # one exercise's cases, each passed/failed with a reason
    python -m shopctl.workshop.exercises reset NAME           # put NAME's files back as they are in git (HEAD)
    python -m shopctl.workshop.exercises diff NAME            # your change per stage: files, functions, lines (lesson)

Each exercise lives in exercises/<name>/: task.md (the task, then "## Hints"), solution.patch (the reference
solution as a git diff against the tree it starts from). The registry below says which notebook it belongs to
and which checker judges it. A checker always runs in a *separate* Python process whose import path is the
tree being judged (the working tree, or a scratch copy with the solution applied): the kernel's already
imported modules never hide the learner's latest edit, and checking a solution never touches the working tree.

Regenerating a solution after the code moved on: in a clean tree, make the change, run the checker until it
passes, then `git diff > exercises/<name>/solution.patch` (add new files with `git add -N` first so they
are in the diff) and `python -m shopctl.workshop.exercises reset <name>`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopctl import errors
from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT

EXERCISES_DIR = REPO_ROOT / "exercises"
CHECK_TIMEOUT_S = 240
# The stage folders and the deploy code: put first on a checker's import path, they make the judged tree's
# code win over the virtualenv's .pth entries (which point at the working tree).
SOURCE_DIRS = ("01-monolith", "02-microservices", "03-clean-architecture", "deployment")


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    detail: str  # one line: what was seen
    next: str = ""  # for a failed case: where to look next


@dataclass(frozen=True)
class Exercise:
    name: str
    notebook: str  # "01" … "05"
    title: str
    checker: str  # the name of a function in CHECKERS
    lesson: bool = False  # the exercise that carries the talk's lesson: the same change in all three stages

    @property
    def folder(self) -> Path:
        return EXERCISES_DIR / self.name

    def task(self) -> str:
        return (self.folder / "task.md").read_text()

    def patch(self) -> str:
        return (self.folder / "solution.patch").read_text()

    def files(self) -> list[str]:
        """The repository paths the reference solution touches — what `reset` restores."""
        return patch_files(self.patch())


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


PATCH_TARGET = re.compile(r"^\+\+\+ b/(\S+)$", re.MULTILINE)


def patch_files(patch: str) -> list[str]:
    return sorted(set(PATCH_TARGET.findall(patch)))


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


def run_checker(exercise: Exercise, root: Path = REPO_ROOT) -> list[CaseResult]:
    """Judge the tree at `root` in a fresh interpreter; a checker that crashes is one failed case, not an error."""
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
    """passed, or todo while the exercise's files are as git has them, else failed."""
    if all(r.passed for r in results):
        return "passed"
    return "failed" if touched(exercise, root) else "todo"


def _git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ShopctlError(f"git {' '.join(args)} failed: {done.stderr.strip()}", "is this a git checkout?")
    return done.stdout


def touched(exercise: Exercise, root: Path = REPO_ROOT) -> bool:
    files = exercise.files()
    changed = _git(root, "status", "--porcelain", "--", *files, check=False)
    return bool(changed.strip())


@dataclass
class Verdict:
    exercise: Exercise
    results: list[CaseResult]
    status: str
    solution: list[CaseResult] | None = None  # with --solutions: the reference solution in a scratch copy
    untouched: list[CaseResult] | None = None  # … and the same scratch copy without it

    @property
    def solution_ok(self) -> bool:
        return (
            self.solution is not None
            and all(r.passed for r in self.solution)
            and self.untouched is not None
            and not all(r.passed for r in self.untouched)
        )


# --- scratch copies -------------------------------------------------------------------------------------


@contextmanager
def scratch_copy(exercise: Exercise | None = None, *, apply_solution: bool = False) -> Iterator[Path]:
    """A copy of the working tree's files (not .venv, not build/) in a temporary folder; the exercise's own
    files as git has them (a learner's half-done edit does not count), its solution applied if asked."""
    listed = _git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    own = set(exercise.files()) if exercise else set()
    with tempfile.TemporaryDirectory(prefix="shop-exercise-") as scratch:
        root = Path(scratch)
        for name in filter(None, listed):
            source, target = REPO_ROOT / name, root / name
            if name in own or not source.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        for name in own:  # as committed; a file the solution adds does not exist yet
            done = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=REPO_ROOT, capture_output=True)
            if done.returncode == 0:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(done.stdout)
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
    """(the checker on a scratch copy with the solution applied, … on one without) — the working tree untouched.

    The two run side by side: each checker is its own process, mostly starting servers and waiting on them."""
    from concurrent.futures import ThreadPoolExecutor

    def checked(apply_solution: bool) -> list[CaseResult]:
        with scratch_copy(exercise, apply_solution=apply_solution) as root:
            return run_checker(exercise, root)

    with ThreadPoolExecutor(max_workers=2) as pool:
        solved = pool.submit(checked, True)
        untouched = checked(False)
        return solved.result(), untouched


def reset(exercise: Exercise, root: Path = REPO_ROOT) -> list[str]:
    """Put the exercise's files back as HEAD has them; remove the ones it adds. Returns what changed."""
    changed = []
    for name in exercise.files():
        path = root / name
        in_head = subprocess.run(["git", "cat-file", "-e", f"HEAD:{name}"], cwd=root, capture_output=True)
        if in_head.returncode == 0:
            if _git(root, "status", "--porcelain", "--", name).strip():
                _git(root, "checkout", "HEAD", "--", name)
                changed.append(f"restored {name}")
        elif path.exists():
            _git(root, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", name)
            path.unlink()
            changed.append(f"removed {name}")
    return changed


# --- what the notebooks show -------------------------------------------------------------------------------


def _markdown_results(title: str, results: list[CaseResult], state: str) -> str:
    from shopctl.workshop import markdown_table

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


@dataclass
class Shown:
    markdown: str
    results: list[CaseResult] = field(default_factory=list)
    status: str = ""

    def _repr_markdown_(self) -> str:
        return self.markdown


def show(name: str) -> Shown:
    """The task, its hints and the reference solution (folded), for a notebook cell."""
    exercise = get(name)
    task = exercise.task()
    body, _, hints = task.partition("## Hints")
    parts = [f"### Exercise `{exercise.name}` — {exercise.title}\n", body.strip()]
    if hints.strip():
        parts.append(f"<details><summary><b>Hints</b> (open one at a time)</summary>\n\n{hints.strip()}\n\n</details>")
    parts.append(
        "<details><summary><b>Reference solution</b> (try first!)</summary>\n\n"
        f"Apply it with `git apply exercises/{exercise.name}/solution.patch`; undo with "
        f"`make exercise-reset NAME={exercise.name}`.\n\n```diff\n{exercise.patch()}```\n\n</details>"
    )
    parts.append(
        "Check it with the next cell, or `make exercises`; start again with "
        f"`make exercise-reset NAME={exercise.name}`."
    )
    return Shown("\n\n".join(parts))


def check(name: str) -> Shown:
    """Run the checker on the working tree; never raises for a failed case (a notebook keeps running)."""
    exercise = get(name)
    results = run_checker(exercise)
    state = status(exercise, results)
    return Shown(_markdown_results(exercise.title, results, state), results, state)


# --- the lesson: your change, per stage -----------------------------------------------------------------


STAGE_FOLDERS = {"monolith": "01-monolith/", "microservices": "02-microservices/", "clean": "03-clean-architecture/"}


def _changed_lines(root: Path) -> dict[str, set[int]]:
    """file -> the line numbers (in the new version) the working tree adds or changes against HEAD; new
    (untracked) files count in full. Tests are left out: the lesson is about the code that serves."""
    diff = _git(root, "diff", "HEAD", "--unified=0", "--no-color", "--", *STAGE_FOLDERS.values())
    changed: dict[str, set[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            current = line[6:] if line.startswith("+++ b/") else None
            if current:
                changed.setdefault(current, set())
        elif line.startswith("@@") and current:
            match = re.search(r"\+(\d+)(?:,(\d+))?", line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or 1)
                # a pure deletion (count 0) still edits the definition around it
                changed[current].update(range(start, start + max(count, 1)))
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "--", *STAGE_FOLDERS.values())
    for name in untracked.splitlines():
        if name.endswith(".py"):
            changed[name] = set(range(1, len((root / name).read_text().splitlines()) + 1))
    return {f: lines for f, lines in changed.items() if "/tests/" not in f and f.endswith(".py")}


def _definitions(path: Path, lines: set[int]) -> list[str]:
    """The top-level functions and classes (or `module level`) the changed lines fall in."""
    import ast

    try:
        text = path.read_text()
        tree = ast.parse(text)
    except (OSError, SyntaxError):
        return ["(does not parse)"]
    source = text.splitlines()
    # Blank lines between definitions are no edit of "module level".
    lines = {n for n in lines if 0 < n <= len(source) and source[n - 1].strip()}
    names = []
    covered: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            span = set(range(node.lineno - len(node.decorator_list), (node.end_lineno or node.lineno) + 1))
            if span & lines:
                names.append(f"{node.name}()" if not isinstance(node, ast.ClassDef) else f"class {node.name}")
                covered |= span
    if lines - covered:
        names.append("module level")
    return names


def my_change(root: Path = REPO_ROOT) -> dict[str, dict[str, Any]]:
    """Per stage: the files, definitions and lines your working tree changes (from `git diff HEAD`)."""
    per_stage: dict[str, dict[str, Any]] = {
        s: {"files": [], "definitions": 0, "existing": 0, "lines": 0} for s in STAGE_FOLDERS
    }
    for name, lines in sorted(_changed_lines(root).items()):
        stage = next((s for s, folder in STAGE_FOLDERS.items() if name.startswith(folder)), None)
        if stage is None:
            continue
        try:
            source = (root / name).read_text().splitlines()
        except OSError:
            source = []
        lines = {n for n in lines if 0 < n <= len(source) and source[n - 1].strip()}  # blank lines are no change
        definitions = _definitions(root / name, lines)
        # Opened up: a function or class that was there before your change (where regressions come from).
        before = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=root, capture_output=True, text=True).stdout
        existing = [d for d in definitions if d != "module level" and _defines(before, d)]
        per_stage[stage]["files"].append(
            {"file": name, "lines": len(lines), "definitions": definitions, "existing": existing}
        )
        per_stage[stage]["definitions"] += len(definitions)
        per_stage[stage]["existing"] += len(existing)
        per_stage[stage]["lines"] += len(lines)
    return per_stage


def _defines(source: str, definition: str) -> bool:
    """Does `source` have the top-level `name()` / `class Name` that _definitions() reported?"""
    name = definition.removeprefix("class ").removesuffix("()")
    keyword = "class" if definition.startswith("class ") else "(?:async )?def"
    return re.search(rf"^{keyword} {re.escape(name)}\b", source, re.MULTILINE) is not None


def predicted(root: Path = REPO_ROOT) -> dict[str, Any]:
    """`make compare`'s figure for adding a runtime (its "add EKS" change), computed from the stages as HEAD
    has them — the code before your change."""
    from shopctl.compare import coupling
    from shopctl.paths import STAGE_DIRS

    with tempfile.TemporaryDirectory(prefix="shop-head-") as scratch:
        folders = [STAGE_DIRS[s].name for s in STAGE_FOLDERS]
        archive = subprocess.run(["git", "archive", "HEAD", *folders], cwd=root, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", scratch], input=archive.stdout, check=True)
        roots = {s: Path(scratch) / STAGE_DIRS[s].name for s in STAGE_FOLDERS}
        return coupling.analyse(roots)["impact"]["add_eks"]["stages"]


def lesson_table(root: Path = REPO_ROOT) -> Shown:
    """Your change per stage next to what `make compare` predicts for adding a runtime (its "add EKS" row)."""
    from shopctl.workshop import markdown_table

    mine = my_change(root)
    prediction = predicted(root)
    rows = []
    for stage, change in mine.items():
        files = (
            "\n".join(
                f"`{f['file'].split('/', 1)[1]}`: {f['lines']} lines in {', '.join(f['definitions'])}"
                for f in change["files"]
            )
            or "nothing yet"
        )
        guess = prediction.get(stage, {})
        rows.append(
            (
                f"**{stage}**",
                files,
                f"{change['lines']} lines in {len(change['files'])} files; existing definitions edited: "
                f"**{change['existing']}**",
                f"{guess.get('summary', '?')}; existing definitions edited: **{guess.get('edited_definitions', '?')}**",
            )
        )
    table = markdown_table(
        ["stage", "your change (git diff HEAD)", "in total", "make compare predicted (add EKS)"], rows
    )
    return Shown(table)


# --- the checkers (run by `_judge`, inside the judged tree) ------------------------------------------------

Case = Callable[[], tuple[bool, str]]


def _case(name: str, body: Case, next_step: str) -> CaseResult:
    try:
        passed, detail = body()
    except Exception as error:  # the learner's code may raise anything: report it, do not crash the check
        passed, detail = False, f"raised {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return CaseResult(name, passed, detail, "" if passed else next_step)


def _checkers() -> dict[str, Callable[[], list[CaseResult]]]:
    from shopctl.workshop import exercise_checks

    return {e.checker: getattr(exercise_checks, e.checker) for e in EXERCISES}


def _judge(name: str) -> int:
    results = _checkers()[get(name).checker]()
    print(json.dumps([asdict(r) for r in results]), flush=True)
    return 0


# --- command line ---------------------------------------------------------------------------------------


def list_all(*, solutions: bool = False, say: Callable[[str], None] = print) -> list[Verdict]:
    verdicts = []
    for exercise in EXERCISES:
        say(f"… {exercise.notebook} {exercise.name}: checking the working tree")
        results = run_checker(exercise)
        verdict = Verdict(exercise, results, status(exercise, results))
        if solutions:
            say(f"… {exercise.notebook} {exercise.name}: the reference solution, in a scratch copy")
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
    listing.add_argument("--solutions", action="store_true", help="check each reference solution in a scratch copy")
    for command in ("check", "reset", "diff", "_judge"):
        sub.add_parser(command).add_argument("name", nargs="?" if command == "diff" else None)
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
            exercise = get(args.name)
            results = run_checker(exercise)
            for r in results:
                print(("✓ " if r.passed else "✗ ") + f"{r.case}: {r.detail}" + (f" → {r.next}" if r.next else ""))
            print(f"{exercise.name}: {status(exercise, results)}")
            return 0 if all(r.passed for r in results) else 1
        if args.command == "reset":
            changed = reset(get(args.name))
            print("\n".join(changed) or f"{args.name}: nothing to reset, its files are as git has them")
            return 0
        if args.command == "diff":
            for stage, change in my_change().items():
                total = f"{len(change['files'])} files, {change['definitions']} definitions, {change['lines']} lines"
                print(f"{stage}: {total}")
                for f in change["files"]:
                    print(f"   {f['file']}: {f['lines']} lines in {', '.join(f['definitions'])}")
            return 0
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
