"""Markdown building blocks shared by the report's sections (and notebook 05): a table, a method note, an image."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    """A markdown table, one line per row; a `|` inside a cell is escaped."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines



def method(text: str) -> list[str]:
    """How a table's figures were measured, in italics under it."""
    return ["", f"_Method: {text}_", ""]


def image(path: str, alt: str) -> list[str]:
    return ["", f"![{alt}]({path})", ""]
