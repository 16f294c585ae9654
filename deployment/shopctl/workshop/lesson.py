"""The lesson of exercise fourth-runtime: the learner's own change per stage, which existing definitions it
opened and what depends on them, next to what `make compare` predicts for adding a runtime.

    python -m shopctl.workshop.exercises diff [NAME]     # the same, as text

What counts is the exercise's own part of the tree (exercises/<name>/owns.txt, shopctl/workshop/regions.py),
whatever else the tree holds: its whole files, and the lines that differ from HEAD inside the top-level
definitions it owns. Two exercises may own one definition (config_for() is cached-config's and
fourth-runtime's): there a changed block of lines is the one whose own new definitions it names
(`AppRunnerConfigAdapter`, `CachedConfig`), else both exercises'. A block inserted into an existing
definition opens that definition, even when another exercise renamed it meanwhile (cached-config moves
config_for()'s ladder into a new function): where it sits in HEAD decides, not where it ended up.

Lines are non-blank lines added, rewritten or deleted. What depends on an opened definition is read
from the code as HEAD has it (callers.py): the definitions that call it, all that reach it, the routes.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shopctl.paths import REPO_ROOT, STAGE_DIRS
from shopctl.stages import STAGES
from shopctl.workshop import regions
from shopctl.workshop.callers import CallGraph
from shopctl.workshop.display import Shown, markdown_table

LESSON = "fourth-runtime"
STAGE_FOLDERS = {"monolith": "01-monolith/", "microservices": "02-microservices/", "clean": "03-clean-architecture/"}
MODULE_LEVEL = "module level"
DEFINITION = re.compile(r"(?:async def|def|class)\s+(\w+)", re.MULTILINE)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Opened:
    """An existing definition the change opened, and what depends on it in its package (HEAD's code)."""

    definition: str  # "setting()", "class Foo"
    file: str  # as the repository names it
    callers: list[str]  # the definitions that call it directly
    dependents: int  # definitions that reach it through calls, the callers included
    routes: int  # routes among the dependents
    all_routes: int  # routes its package serves


@dataclass(frozen=True)
class FileChange:
    file: str
    lines: int
    definitions: list[str]  # where the lines are: existing definitions, added ones, "module level"
    opened: list[str]  # the existing definitions among them


@dataclass(frozen=True)
class StageChange:
    stage: str
    files: list[FileChange] = field(default_factory=list)
    opened: list[Opened] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def definitions(self) -> int:
        return sum(len(f.definitions) for f in self.files)


@dataclass(frozen=True)
class Prediction:
    """`make compare`'s "add EKS" figure for one stage, from HEAD's code."""

    summary: str
    lines: int
    opened: list[str]  # "setting() in main.py"


@dataclass(frozen=True)
class Lesson:
    exercise: str
    stages: dict[str, StageChange]
    predicted: dict[str, Prediction]

    def table(self) -> Shown:
        rows = []
        for name, change in self.stages.items():
            guess = self.predicted.get(name)
            rows.append(
                (
                    f"**{name}**",
                    "\n".join(_file_line(f) for f in change.files) or "nothing yet",
                    (f"**{len(change.opened)}**" if change.files else "—")
                    + "".join(f"\n{_opened_line(o)}" for o in change.opened),
                    f"{guess.summary}; existing definitions edited: **{len(guess.opened)}**"
                    + "".join(f"\n{o}" for o in guess.opened)
                    if guess
                    else "?",
                )
            )
        header = [
            "stage",
            f"your change: lines per file ({self.exercise}'s part only)",
            "existing definitions you opened, and their callers (definitions, then routes)",
            "make compare predicted (add EKS): lines, definitions",
        ]
        return Shown(markdown_table(header, rows) + "\n\n" + "\n".join(f"- {s}" for s in self.findings()))

    def findings(self) -> list[str]:
        """One sentence per stage, from the figures above."""
        sentences = []
        for name, change in self.stages.items():
            if not change.files:
                sentences.append(f"{name}: no change of yours yet.")
            elif not change.opened:
                sentences.append(f"{name}: {change.lines} lines, all in new code: no existing definition opened.")
            else:
                opened = "; ".join(
                    f"{o.definition}, called by {_count(o.callers, 'definition')} and reached from "
                    f"{o.routes} of {o.all_routes} routes"
                    for o in change.opened
                )
                sentences.append(f"{name}: {change.lines} lines; you opened {opened}.")
        return sentences

    def text(self) -> str:
        return as_text(self.stages)


def as_text(stages: dict[str, StageChange]) -> str:
    """my_change()'s figures as plain text (`python -m shopctl.workshop.exercises diff`)."""
    out = []
    for name, change in stages.items():
        out.append(f"{name}: {len(change.files)} files, {change.definitions} definitions, {change.lines} lines")
        out += [f"   {_file_line(f)}" for f in change.files]
        out += [f"   opened {_opened_line(o)}" for o in change.opened]
    return "\n".join(out)


def _count(items: list[str], noun: str) -> str:
    names = f" ({', '.join(items)})" if 0 < len(items) <= 3 else ""
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}{names}"


def _file_line(f: FileChange) -> str:
    return f"`{f.file.split('/', 1)[1]}`: {f.lines} lines in {', '.join(f.definitions)}"


def _opened_line(o: Opened) -> str:
    return (
        f"`{o.definition}` in {o.file.split('/', 1)[1]}: called by {_count(o.callers, 'definition')}; "
        f"{o.dependents} callers in all (directly or through others); reached from {o.routes} of {o.all_routes} routes"
    )


# --- the exercise's own lines ------------------------------------------------------------------------------


def _definition_name(unit: regions.Unit) -> str | None:
    """ "setting()" / "class Foo" for a def or class unit, else None."""
    for line in unit.text.splitlines():
        if match := DEFINITION.match(line):
            return f"class {match.group(1)}" if line.startswith("class") else f"{match.group(1)}()"
    return None


def _marks(tree: regions.Tree) -> dict[str, set[str]]:
    """exercise -> the names its own new definitions bind (a new class, a new function), where no other
    exercise shares them: what tells its lines apart inside a definition it shares."""
    marks: dict[str, set[str]] = {}
    for parts in tree.files.values():
        if not parts.differs:
            continue
        before = regions.units(parts.head or "")
        for key, unit in regions.units(parts.work or "").items():
            if key in before or key.startswith(("from ", "import ", "line: ")):
                continue
            owners = parts.whole or parts.owners.get(key, set())
            if len(owners) == 1:
                marks.setdefault(next(iter(owners)), set()).update(regions.bound_names(unit))
    return marks


def _unit_at(units: dict[str, regions.Unit], length: int) -> list[str | None]:
    at: list[str | None] = [None] * length
    for key, unit in units.items():
        at[unit.start : unit.end] = [key] * (unit.end - unit.start)
    return at


def _file_change(tree: regions.Tree, name: str, path: str, marks: dict[str, set[str]]) -> FileChange | None:
    parts = tree.files[path]
    head, work = (parts.head or "").splitlines(), (parts.work or "").splitlines()
    head_units, work_units = regions.units(parts.head or ""), regions.units(parts.work or "")
    head_at, work_at = _unit_at(head_units, len(head)), _unit_at(work_units, len(work))
    existing = {k: d for k, u in head_units.items() if (d := _definition_name(u))}

    def mine(owners: set[str], block: set[str]) -> bool:
        if name in parts.whole:
            return True
        if name not in owners:
            return False
        named = {e for e in owners if block & marks.get(e, set())}
        return not named or name in named

    lines = 0
    where: list[str] = []
    opened: list[str] = []
    matcher = difflib.SequenceMatcher(None, head, work, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        block = set(IDENTIFIER.findall("\n".join(head[i1:i2] + work[j1:j2])))
        old = [i for i in range(i1, i2) if head[i].strip() and mine(parts.owners.get(head_at[i] or "", set()), block)]
        new = [j for j in range(j1, j2) if work[j].strip() and mine(parts.owners.get(work_at[j] or "", set()), block)]
        if not old and not new:
            continue
        lines += max(len(old), len(new))
        inside = _inside(head, head_at, existing, i1, i2, work[j1:j2])
        homes = [existing.get(head_at[i] or "", MODULE_LEVEL) for i in old]
        for j in new:
            key = work_at[j] or ""
            if key in existing:
                homes.append(existing[key])
            elif inside:
                homes.append(inside)
            else:
                homes.append((_definition_name(work_units[key]) if key else None) or MODULE_LEVEL)
        for home in homes:
            if home not in where:
                where.append(home)
            if home in existing.values() and home not in opened:
                opened.append(home)
    return FileChange(path, lines, where, opened) if lines else None


def _inside(
    head: list[str], head_at: list[str | None], existing: dict[str, str], i1: int, i2: int, added: list[str]
) -> str | None:
    """The existing definition a changed block sits in, by its place in HEAD: the lines it replaces, or the
    two lines it is inserted between (after a definition's last line: when it is indented, it continues it)."""
    if i2 > i1:
        keys = {head_at[i] for i in range(i1, i2) if head[i].strip()} & existing.keys()
        return existing[keys.pop()] if len(keys) == 1 else None
    before = head_at[i1 - 1] if i1 > 0 else None
    after = head_at[i1] if i1 < len(head) else None
    if before in existing and before == after:
        return existing[before]
    first = next((line for line in added if line.strip()), "")
    return existing[before] if before in existing and first[:1].isspace() else None


# --- per stage ----------------------------------------------------------------------------------------------


def _stage_of(path: str) -> str | None:
    return next((s for s, folder in STAGE_FOLDERS.items() if path.startswith(folder)), None)


@contextmanager
def head_stages(root: Path) -> Iterator[dict[str, Path]]:
    """The stage folders as HEAD has them, in a temporary folder: stage -> its folder there."""
    with tempfile.TemporaryDirectory(prefix="shop-head-") as scratch:
        folders = [STAGE_DIRS[s].name for s in STAGE_FOLDERS]
        archive = subprocess.run(["git", "archive", "HEAD", *folders], cwd=root, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", scratch], input=archive.stdout, check=True)
        yield {s: Path(scratch) / STAGE_DIRS[s].name for s in STAGE_FOLDERS}


def my_change(root: Path = REPO_ROOT, exercise: str = LESSON) -> dict[str, StageChange]:
    """Per stage: the exercise's own change in the tree at `root` (files, definitions, lines) and the
    existing definitions it opened, with what depends on them."""
    from shopctl.compare.source import read_packages
    from shopctl.workshop.catalog import parts

    tree = parts(root)
    marks = _marks(tree)
    files: dict[str, list[FileChange]] = {s: [] for s in STAGE_FOLDERS}
    for path in sorted(tree.changed(exercise)):
        stage = _stage_of(path)
        if (
            stage
            and path.endswith(".py")
            and "/tests/" not in path
            and (change := _file_change(tree, exercise, path, marks))
        ):
            files[stage].append(change)
    if not any(f.opened for changes in files.values() for f in changes):
        return {s: StageChange(s, changes) for s, changes in files.items()}
    with head_stages(root) as heads:
        result = {}
        for stage, changes in files.items():
            graph = CallGraph.of(read_packages(heads[stage], STAGES[stage].packages))
            opened = []
            for f in changes:
                module = ".".join(Path(f.file[len(STAGE_FOLDERS[stage]) :]).with_suffix("").parts)
                for definition in f.opened:
                    found = graph.dependents(module, definition.removeprefix("class ").removesuffix("()"))
                    reach = (len(found.dependents), len(found.routes), found.all_routes)
                    opened.append(Opened(definition, f.file, found.callers, *reach))
            result[stage] = StageChange(stage, changes, opened)
        return result


def predicted(root: Path = REPO_ROOT) -> dict[str, Prediction]:
    """`make compare`'s figure for adding a runtime (its "add EKS" change), computed from the stages as HEAD
    has them — the code before your change."""
    from shopctl.compare import coupling

    with head_stages(root) as heads:
        analysis = coupling.analysis(heads)
    change = next(c for c in analysis.changes if c.key == "add_eks")
    return {
        stage: Prediction(
            cost.summary,
            cost.lines,
            [f"`{d}` in {f.path}" for f in cost.changed_files for d in f.edited_definitions],
        )
        for stage, cost in change.stages.items()
    }


def lesson(root: Path = REPO_ROOT, exercise: str = LESSON) -> Lesson:
    return Lesson(exercise, my_change(root, exercise), predicted(root))


def lesson_table(root: Path = REPO_ROOT, exercise: str = LESSON) -> Shown:
    """Your change per stage next to what `make compare` predicts for adding a runtime (its "add EKS" row)."""
    return lesson(root, exercise).table()
