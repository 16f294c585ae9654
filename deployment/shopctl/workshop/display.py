"""Results as a notebook shows them: Markdown tables, highlighted source, HTTP exchanges."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopctl.paths import REPO_ROOT
from shopctl.workshop.cases import CaseResult


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """`make compare`'s table layout (shopctl.compare.report), with cells made safe for a notebook."""
    from shopctl.compare.report import _table

    def cell(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.1f}"
        # Text outside `code spans` may hold <placeholders>: escape them, or Markdown swallows them as HTML.
        # A line break inside a cell becomes <br>.
        parts = str(value).split("`")
        parts[::2] = [part.replace("<", "&lt;").replace(">", "&gt;") for part in parts[::2]]
        return "`".join(parts).replace("\n", "<br>")

    return "\n".join(_table(header, ([cell(value) for value in row] for row in rows)))


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Any:
    """A Markdown table the notebook renders (IPython's Markdown display object)."""
    from IPython.display import Markdown

    return Markdown(markdown_table(header, rows))


def code(obj: Any, *, first: int | None = None, last: int | None = None) -> Any:
    """The source of a function, class or module as a highlighted block; `first`/`last` cut it to the
    lines (1-based, inclusive) worth reading."""
    from IPython.display import Markdown

    obj = inspect.unwrap(obj)  # functools.cache and friends keep the function in __wrapped__
    lines = inspect.getsource(obj).splitlines()
    lines = lines[(first or 1) - 1 : last]
    where = Path(inspect.getsourcefile(obj) or "?")
    with contextlib.suppress(ValueError):
        where = where.relative_to(REPO_ROOT)
    return Markdown(f"`{where}`\n\n```python\n" + "\n".join(lines) + "\n```")


def responses_table(responses: Iterable[Any], *, through: Sequence[str] | None = None, width: int = 90) -> Any:
    """httpx responses as one row each: request, status, the body shortened to one line."""
    import json

    rows = []
    for i, response in enumerate(responses):
        request = response.request
        path = request.url.raw_path.decode()
        sent = request.content.decode() if request.content else ""
        body = response.text
        with contextlib.suppress(ValueError):
            body = json.dumps(response.json(), ensure_ascii=False)
        row = [f"`{request.method} {path}`", f"`{sent}`" if sent else "", f"**{response.status_code}**"]
        row.append(f"`{body[:width]}{'…' if len(body) > width else ''}`" if body else "")
        rows.append(([through[i]] if through else []) + row)
    return table((["through"] if through else []) + ["request", "body sent", "status", "response"], rows)


@dataclass
class Shown:
    """Markdown for a notebook cell (an exercise's task, its check, the lesson's table) and what it shows."""

    markdown: str
    results: list[CaseResult] = field(default_factory=list)
    status: str = ""

    def _repr_markdown_(self) -> str:
        return self.markdown
