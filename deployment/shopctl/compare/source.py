"""A stage's application code as the analysis sees it: one `SourceModule` per .py file, with

- its code lines: non-blank lines that are not comments and not docstrings (tokenize + ast);
- the modules it imports (every `import`, also inside functions — bootstrap.py imports boto3 lazily);
- the *words* its code uses, each with its line numbers: identifiers (names, attributes, keyword
  arguments, imported names, def/class names, parameters) and string literals (f-string parts
  included, docstrings excluded). Every "does this module know about X?" question below is a pattern
  over these words, so comments and docstrings never count as knowledge.

Nothing here imports the stage's code: it is read as text, so analysing a stage needs none of its
dependencies and no AWS.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_DIRS = {"tests", "test", "__pycache__"}
NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


@dataclass(frozen=True)
class Word:
    """An identifier or a string literal in the code, and the lines it spans."""

    text: str
    literal: bool  # True for a string literal, False for an identifier
    first: int
    last: int

    @property
    def lines(self) -> range:
        return range(self.first, self.last + 1)


@dataclass
class SourceModule:
    name: str  # dotted module name, e.g. "clean_shop.adapters.config"
    path: Path  # relative to the stage root, e.g. clean_shop/adapters/config.py
    tree: ast.Module
    code_lines: frozenset[int]
    words: list[Word] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.code_lines)

    @property
    def component(self) -> str:
        """The first two parts of the name: a top-level subpackage or module of the package."""
        return ".".join(self.name.split(".")[:2])

    def imports(self) -> set[str]:
        """Every module named by an import statement (absolute names; relative ones resolved)."""
        found: set[str] = set()
        package = self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}
        return found

    def imports_any(self, roots: Iterable[str]) -> set[str]:
        """The top-level packages out of `roots` that this module imports."""
        wanted = set(roots)
        return {name.split(".")[0] for name in self.imports()} & wanted

    def matching(self, pattern: re.Pattern[str], *, literals: bool = True, identifiers: bool = True) -> list[Word]:
        return [
            word for word in self.words if (literals if word.literal else identifiers) and pattern.search(word.text)
        ]

    def lines_matching(self, pattern: re.Pattern[str], **kinds: bool) -> set[int]:
        """The code lines on which a word matching `pattern` appears."""
        return {line for word in self.matching(pattern, **kinds) for line in word.lines} & self.code_lines


def docstring_nodes(tree: ast.Module) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append(first.value)
    return found


def _code_lines(source: str, docstrings: Iterable[ast.Constant]) -> frozenset[int]:
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in NOT_CODE:
            lines.update(range(token.start[0], token.end[0] + 1))
    for node in docstrings:
        lines.difference_update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return frozenset(lines)


def _words(tree: ast.Module, docstrings: Iterable[ast.Constant]) -> Iterator[Word]:
    skip = {id(node) for node in docstrings}

    def word(text: str, node: ast.AST, literal: bool = False) -> Word:
        first = getattr(node, "lineno", 0)
        return Word(text, literal, first, getattr(node, "end_lineno", None) or first)

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield word(node.id, node)
        elif isinstance(node, ast.Attribute):
            # The attribute's own line: the end of the node (`a.\n b` ends on b's line).
            yield Word(node.attr, False, node.end_lineno or node.lineno, node.end_lineno or node.lineno)
        elif isinstance(node, ast.keyword) and node.arg:
            yield word(node.arg, node)
        elif isinstance(node, ast.alias):
            yield word(node.name, node)
            if node.asname:
                yield word(node.asname, node)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield Word(node.module, False, node.lineno, node.lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield Word(node.name, False, node.lineno, node.lineno)
        elif isinstance(node, ast.arg):
            yield word(node.arg, node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield word(node.value, node, literal=True)


def read_module(root: Path, path: Path) -> SourceModule:
    relative = path.relative_to(root)
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    tree, code_lines, words = _parsed(path.read_text(encoding="utf-8"), str(path))
    return SourceModule(name=".".join(parts), path=relative, tree=tree, code_lines=code_lines, words=list(words))


@functools.lru_cache(maxsize=4096)
def _parsed(source: str, filename: str) -> tuple[ast.Module, frozenset[int], tuple[Word, ...]]:
    """One parse per file content: the comparison, the impact analysis, the lesson table and the exercise
    checks read the same few hundred files many times in one process (the analysis never edits a tree)."""
    tree = ast.parse(source, filename=filename)
    docstrings = docstring_nodes(tree)
    return tree, _code_lines(source, docstrings), tuple(_words(tree, docstrings))


def application_files(root: Path, package: str) -> list[Path]:
    """The package's .py files, tests excluded (they live outside the packages here, but a stage
    copied with tests inside must not count them either)."""
    return sorted(
        path
        for path in (root / package).rglob("*.py")
        if not SKIPPED_DIRS & set(path.relative_to(root).parts[:-1])
        and not path.name.startswith("test_")
        and path.name != "conftest.py"
    )


def read_packages(root: Path, packages: Iterable[str]) -> list[SourceModule]:
    return [read_module(root, path) for package in packages for path in application_files(root, package)]


# --- structure: which lines belong to which definition or branch --------------------------------------


@dataclass(frozen=True)
class Unit:
    """A piece of a module the impact analysis can name: a def, a class, a branch or one statement."""

    kind: str  # "function", "class", "branch", "statement", "module"
    name: str
    lines: frozenset[int]
    added: bool = False  # new code (a new file or definition), as opposed to an edit of existing code

    def describe(self) -> str:
        return f"{self.kind} {self.name}" if self.kind in ("function", "class") else self.name


def node_lines(node: ast.AST, code_lines: frozenset[int]) -> frozenset[int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])  # type: ignore[attr-defined]
    return frozenset(range(first, (node.end_lineno or node.lineno) + 1)) & code_lines  # type: ignore[attr-defined]


def top_level_definitions(module: SourceModule) -> list[ast.stmt]:
    return [
        node for node in module.tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]


def unit_for(node: ast.stmt, module: SourceModule, *, added: bool = False) -> Unit:
    if isinstance(node, ast.ClassDef):
        return Unit("class", node.name, node_lines(node, module.code_lines), added)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return Unit("function", node.name, node_lines(node, module.code_lines), added)
    return Unit("statement", f"line {node.lineno}", node_lines(node, module.code_lines), added)
