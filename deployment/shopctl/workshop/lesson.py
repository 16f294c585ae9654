"""The lesson of exercise fourth-runtime: the learner's own change per stage (`git diff HEAD`), next to what
`make compare` predicts for adding a runtime.

    python -m shopctl.workshop.exercises diff       # the same, as text
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from shopctl.paths import REPO_ROOT
from shopctl.workshop.display import Shown, markdown_table
from shopctl.workshop.regions import git

STAGE_FOLDERS = {"monolith": "01-monolith/", "microservices": "02-microservices/", "clean": "03-clean-architecture/"}


def _changed_lines(root: Path) -> dict[str, set[int]]:
    """file -> the line numbers (in the new version) the working tree adds or changes against HEAD; new
    (untracked) files count in full. Tests are left out: the lesson is about the code that serves."""
    diff = git(root, "diff", "HEAD", "--unified=0", "--no-color", "--", *STAGE_FOLDERS.values())
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
    untracked = git(root, "ls-files", "--others", "--exclude-standard", "--", *STAGE_FOLDERS.values())
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
