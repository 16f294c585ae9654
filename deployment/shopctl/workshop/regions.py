"""What each exercise owns in the repository, so that its status, its check and its reset concern it alone.

Two exercises may edit one file: cancel-order and fourth-runtime both change 01-monolith/monolith/main.py,
cached-config and fourth-runtime both change clean_shop/bootstrap.py. A learner adds lines anywhere inside
a function, so an exercise owns whole files or *top-level definitions*, listed in exercises/<name>/owns.txt:

    path/to/file.py                            the whole file (one that only this exercise changes or creates)
    path/to/file.py :: setting, RUNTIMES       these top-level definitions: functions, classes, assignments,
                                               imports (`from package.module`)
    path/to/file.py :: +                       the top-level definitions the learner adds to the file

A file is cut into its top-level statements with `ast`; a file that does not parse (the learner is in the
middle of an edit) is cut at its column-0 `def`, `class`, import and assignment lines instead. An added
definition belongs to the exercises whose definitions use it (a helper that `setting()` calls is
fourth-runtime's), else to the exercise that claims the file's additions (`+`).

- Started: one of the exercise's own definitions differs from HEAD. A definition two exercises own
  (config_for(): cached-config wraps it, fourth-runtime adds a branch) counts for both, unless only one of
  them has work of its own elsewhere: then the change is that one's.
- Checked: on a copy of HEAD holding only the exercise's own definitions from the working tree
  (`isolated_copy`). Another exercise's half-done edit — even one that does not parse — never reaches
  this exercise's check. Making every checker robust to any edit elsewhere is impossible (a syntax error
  anywhere in main.py stops the monolith), hence the copy.
- Reset: only the exercise's own definitions go back to HEAD (`splice`). A shared definition another
  started exercise may have worked in is a conflict: exercises.reset refuses and names that exercise.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shopctl.errors import ShopctlError

OWNS_FILE = "owns.txt"
ADDITIONS = "+"


def git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ShopctlError(f"git {' '.join(args)} failed: {done.stderr.strip()}", "is this a git checkout?")
    return done.stdout


def head_text(root: Path, path: str) -> str | None:
    """The file as HEAD has it, or None when HEAD does not have it."""
    done = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=root, capture_output=True)
    return done.stdout.decode() if done.returncode == 0 else None


def work_text(root: Path, path: str) -> str | None:
    file = root / path
    return file.read_text() if file.is_file() else None


# --- what an exercise claims ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    path: str
    names: frozenset[str] = frozenset()  # top-level definitions, by key (see `units`)
    additions: bool = False  # what the learner adds to the file

    @property
    def whole(self) -> bool:
        return not self.names and not self.additions


def read_claims(text: str) -> dict[str, Claim]:
    """owns.txt -> path -> Claim (several lines for one path add up)."""
    claims: dict[str, Claim] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        path, has_names, rest = (part.strip() for part in line.partition("::"))
        parts = {p.strip() for p in rest.split(",") if p.strip()} if has_names else set()
        before = claims.get(path, Claim(path))
        claims[path] = Claim(path, before.names | (parts - {ADDITIONS}), before.additions or ADDITIONS in parts)
    return claims


# --- a file's top-level definitions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    key: str  # `name` of a def/class/assignment, `from package.module`, `import x` …
    start: int  # index of its first line (decorators and the comment lines right above included)
    end: int  # index after its last line
    text: str  # its lines without trailing spaces: what is compared


def units(source: str) -> dict[str, Unit]:
    lines = source.splitlines()
    try:
        spans = _ast_spans(source)
    except SyntaxError:
        spans = _line_spans(lines)
    found: dict[str, Unit] = {}
    previous_end = 0
    for key, start, end in spans:
        while start > previous_end and lines[start - 1].startswith("#"):
            start -= 1
        unique, n = key, 1
        while unique in found:
            n += 1
            unique = f"{key}#{n}"
        found[unique] = Unit(unique, start, end, "\n".join(line.rstrip() for line in lines[start:end]))
        previous_end = end
    return found


def _ast_spans(source: str) -> list[tuple[str, int, int]]:
    spans = []
    lines = source.splitlines()  # once: ast.get_source_segment splits the whole source on every call
    for node in ast.parse(source).body:
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(d.lineno for d in decorators)]) - 1
        spans.append((_key(node, lines[node.lineno - 1][node.col_offset :]), start, node.end_lineno or node.lineno))
    return spans


def _key(node: ast.stmt, text: str) -> str:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return ",".join(t.id for t in node.targets if isinstance(t, ast.Name))
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if isinstance(node, ast.ImportFrom):
        return f"from {'.' * node.level}{node.module or ''}"
    if isinstance(node, ast.Import):
        return "import " + ",".join(alias.name for alias in node.names)
    return "line: " + (text.splitlines() or [""])[0].strip()


START = re.compile(r"(@|async def |def |class |import |from |if |try:|[A-Za-z_]\w*\s*(:[^=]*)?=)")
DEFINITION = re.compile(r"(?:async def|def|class)\s+(\w+)")


def _line_spans(lines: list[str]) -> list[tuple[str, int, int]]:
    """For a file that does not parse: a unit starts at each column-0 statement (a decorator with its def)."""
    starts: list[int] = []
    decorated = False
    for i, line in enumerate(lines):
        if not START.match(line):
            continue
        if decorated and not line.startswith("@"):
            decorated = not DEFINITION.match(line)  # the def a decorator belongs to
            continue
        decorated = line.startswith("@")
        starts.append(i)
    if not starts or starts[0] > 0:
        starts.insert(0, 0)  # the module docstring
    spans = []
    for start, following in zip(starts, [*starts[1:], len(lines)], strict=True):
        end = following
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
            end -= 1
        spans.append((_line_key(lines[start:end]), start, end))
    return spans


def _line_key(lines: list[str]) -> str:
    for line in lines:
        if match := DEFINITION.match(line):
            return match.group(1)
    first = lines[0] if lines else ""
    if match := re.match(r"from\s+(\S+)\s+import", first):
        return f"from {match.group(1)}"
    if match := re.match(r"import\s+(.+)", first):
        return "import " + re.sub(r"\s", "", match.group(1))
    if match := re.match(r"([A-Za-z_]\w*)\s*(:[^=]*)?=", first):
        return match.group(1)
    return "line: " + first.strip()


def bound_names(unit: Unit) -> set[str]:
    """The names a top-level statement defines (what another definition would use)."""
    if unit.key.startswith(("from ", "import ")):
        imported = unit.text.split(" import ", 1)[-1]
        return {item.split()[-1] for item in re.sub(r"[()\\]", " ", imported).split(",") if item.split()}
    if unit.key.startswith("line: "):
        return set()
    return set(unit.key.split("#", 1)[0].split(","))


def splice(base: str, donor: str, keys: Iterable[str]) -> str:
    """`base` with the top-level definitions `keys` as `donor` has them: replaced, added after the donor's
    nearest earlier definition that `base` has too, or removed when `donor` does not have them."""
    old, new = units(base), units(donor)
    base_lines, donor_lines = base.splitlines(), donor.splitlines()
    order = list(new)
    edits: list[tuple[int, int, int, list[str]]] = []  # (start, kind, sequence, replacement) on base lines
    ends: dict[int, int] = {}
    for seq, key in enumerate(sorted(set(keys), key=lambda k: order.index(k) if k in new else -1)):
        if key in old and key in new:
            edits.append((old[key].start, 0, seq, donor_lines[new[key].start : new[key].end]))
            ends[seq] = old[key].end
        elif key in old:
            # Blank lines on both sides (a definition between two others): its blank lines before go too.
            start, end = old[key].start, old[key].end
            before = start > 0 and not base_lines[start - 1].strip()
            if before and (end == len(base_lines) or not base_lines[end].strip()):
                while start > 0 and not base_lines[start - 1].strip():
                    start -= 1
            edits.append((start, 0, seq, []))
            ends[seq] = end
        elif key in new:
            i = order.index(key)
            anchor = next((old[k].end for k in reversed(order[:i]) if k in old), 0)
            gap_from = new[order[i - 1]].end if i > 0 else 0
            edits.append((anchor, 1, seq, donor_lines[gap_from : new[key].end]))
            ends[seq] = anchor
    # From the bottom up, so that earlier line numbers stay valid; several additions after one anchor keep
    # the donor's order.
    for start, _, seq, replacement in sorted(edits, key=lambda e: (-e[0], e[1], -e[2])):
        base_lines[start : ends[seq]] = replacement
    return "\n".join(base_lines) + ("\n" if base.endswith("\n") or not base else "")


# --- every exercise's part of a tree ---------------------------------------------------------------------


@dataclass
class FileParts:
    path: str
    head: str | None
    work: str | None
    owners: dict[str, set[str]] = field(default_factory=dict)  # key -> exercises (partial claims)
    changed: set[str] = field(default_factory=set)  # keys that differ between HEAD and the working tree
    whole: set[str] = field(default_factory=set)  # exercises that own the whole file

    @property
    def differs(self) -> bool:
        return self.head != self.work


def file_parts(root: Path, path: str, claims: dict[str, Claim]) -> FileParts:
    """`claims`: exercise -> its claim on `path`."""
    parts = FileParts(path, head_text(root, path), work_text(root, path))
    parts.whole = {name for name, claim in claims.items() if claim.whole}
    if not parts.differs:
        return parts
    head, work = units(parts.head or ""), units(parts.work or "")
    both = head.keys() & work.keys()
    parts.changed = (head.keys() ^ work.keys()) | {k for k in both if head[k].text != work[k].text}
    owners = {k: {name for name, c in claims.items() if k in c.names} for k in head.keys() | work.keys()}
    added = [k for k in work if k not in head and not owners[k]]
    grew = True
    while grew:  # an added definition is owned by the exercises whose definitions use it
        grew = False
        for key in added:
            names = bound_names(work[key])
            users = {
                name
                for other, unit in work.items()
                if other != key and owners[other]
                for name in owners[other]
                if any(re.search(rf"\b{re.escape(n)}\b", unit.text) for n in names)
            }
            if users - owners[key]:
                owners[key] |= users
                grew = True
    for key in added:
        owners[key] = owners[key] or {name for name, c in claims.items() if c.additions}
    parts.owners = owners
    return parts


@dataclass
class Tree:
    """Every exercise's part of the tree at `root` (a git checkout) against its HEAD."""

    root: Path
    claims: dict[str, dict[str, Claim]]  # exercise -> path -> Claim
    files: dict[str, FileParts] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path, claims: dict[str, dict[str, Claim]]) -> Tree:
        tree = cls(root, claims)
        paths = sorted({path for owned in claims.values() for path in owned})
        for path in paths:
            on_path = {name: owned[path] for name, owned in claims.items() if path in owned}
            tree.files[path] = file_parts(root, path, on_path)
        return tree

    def changed(self, name: str) -> dict[str, set[str] | None]:
        """path -> the exercise's changed definitions there (None: a whole file of its own that changed)."""
        out: dict[str, set[str] | None] = {}
        for path in self.claims[name]:
            parts = self.files[path]
            if name in parts.whole:
                if parts.differs:
                    out[path] = None
            elif keys := {k for k in parts.changed if name in parts.owners.get(k, set())}:
                out[path] = keys
        return out

    def sharers(self, name: str, path: str, key: str) -> set[str]:
        return self.files[path].owners.get(key, set()) - {name}

    def has_own_work(self, name: str) -> bool:
        """A change in a file or definition no other exercise owns."""
        return any(
            keys is None or any(not self.sharers(name, path, k) for k in keys)
            for path, keys in self.changed(name).items()
        )

    def started(self, name: str) -> bool:
        if self.has_own_work(name):
            return True
        shared = self.entangled(name)
        # Only shared definitions changed: whose work is it? The other exercise's, if it has work of its own.
        return bool(shared) and not any(self.has_own_work(other) for other in shared)

    def conflicts(self, name: str) -> list[tuple[str, str, str]]:
        """(path, definition, other exercise): changed definitions resetting `name` would take from another
        exercise that has work of its own."""
        named = self.claims[name]
        return [
            (path, key, other)
            for path, keys in sorted(self.changed(name).items())
            for key in sorted(keys or (), key=lambda k, path=path: (k not in named[path].names, k))
            for other in sorted(self.sharers(name, path, key))
            if self.has_own_work(other)
        ]

    def entangled(self, name: str) -> set[str]:
        """The exercises that share a changed definition with `name` (their work is mixed in it)."""
        changed = self.changed(name).items()
        return {other for path, keys in changed for k in keys or () for other in self.sharers(name, path, k)}

    def own_version(self, name: str, path: str, *, donor: str = "work") -> str | None:
        """The file with the exercise's changed definitions taken from the working tree (donor="work",
        the rest as HEAD has it) or from HEAD (donor="head", the rest as the working tree has it)."""
        parts, keys = self.files[path], self.changed(name).get(path, set())
        base, giver = (parts.head, parts.work) if donor == "work" else (parts.work, parts.head)
        if keys is None:
            return giver
        if not keys:
            return base
        return splice(base or "", giver or "", keys)


@contextmanager
def isolated_copy(tree: Tree, name: str) -> Iterator[Path]:
    """HEAD of the tree, with the exercise's own part of the working tree and nothing else — but for the whole
    files of an exercise it shares a changed definition with: what that definition uses (config_for() of
    both bootstrap exercises imports cached-config's new module) must be there."""
    with tempfile.TemporaryDirectory(prefix=f"shop-{name}-") as scratch:
        root = Path(scratch)
        export_head(tree.root, root)
        whole = {path for other in tree.entangled(name) for path, keys in tree.changed(other).items() if keys is None}
        for path in sorted(set(tree.changed(name)) | whole):
            text = tree.own_version(name, path) if path in tree.changed(name) else tree.files[path].work
            target = root / path
            if text is None:
                target.unlink(missing_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        yield root


def export_head(repo: Path, into: Path) -> None:
    """The files HEAD has (no .git, no .venv, no build/), written into `into`."""
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=repo, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
