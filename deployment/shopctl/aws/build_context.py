"""The files `docker build .` at the repository root would send to the builder, per .dockerignore —
computed without Docker, so the tests can check the build context and `make verify` can scan what the
images are built from for secrets."""

from __future__ import annotations

import os
import re
from pathlib import Path

from shopctl.paths import REPO_ROOT


def _pattern(text: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `*` and `?` stay within one path element, `**`
    crosses them, and a pattern matching a directory covers everything under it."""
    out, i = "", 0
    while i < len(text):
        if text.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            out, i = out + ".*", i + 2
        elif text[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif text[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(text[i]), i + 1
    return re.compile(out + r"\Z")


def build_context(root: Path = REPO_ROOT) -> set[str]:
    """The files `docker build .` at the repository root sends, per .dockerignore."""
    rules: list[tuple[bool, re.Pattern[str], str]] = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        text = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((negate, _pattern(text), text))

    def excluded(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negate, pattern, _ in rules:
            if any(pattern.match(p) for p in prefixes):
                result = not negate
        return result

    negations = [text for negate, _, text in rules if negate]
    files: set[str] = set()
    for directory, dirs, names in os.walk(root):
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        # Skip directories nothing can re-include (keeps .venv and .git out of the walk).
        dirs[:] = [
            d
            for d in dirs
            if not excluded(prefix + d) or any("*" in n or n.startswith(prefix + d + "/") for n in negations)
        ]
        files |= {prefix + name for name in names if not excluded(prefix + name)}
    return files
