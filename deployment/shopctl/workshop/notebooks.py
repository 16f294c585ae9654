"""Execute the workshop notebooks (notebooks/NN-*.ipynb) and render them to HTML: `make notebooks`, the tests.

    python -m shopctl.workshop.notebooks run [--html build/notebooks] [--jobs 2] [NAME ...]
    python -m shopctl.workshop.notebooks strip            # remove outputs before committing (the tests insist)

Notebooks are stored without outputs and run with this virtualenv's kernel (`python3`, which Jupyter
resolves to the interpreter running this code when ipykernel is installed here). Each notebook starts
and stops what it needs itself (shopctl.workshop.Session), so several can run side by side.

Exercises change the real code (shopctl/workshop/exercises.py): the cell tagged `check` runs `exercises.check(name)`,
which reports "todo" on an untouched tree instead of raising, so every notebook runs top to bottom.
In-cell exercises are still supported: a code cell tagged `exercise` holds a blank template, the Markdown
cell tagged `solution` the reference solution in a ```python block; runs use the solution unless
`solutions=False`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl import errors
from shopctl.errors import ShopctlError
from shopctl.paths import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
HTML_DIR = REPO_ROOT / "build" / "notebooks"
KERNEL = "python3"
CELL_TIMEOUT_S = 600  # the first Lambda deploy pip-installs its dependencies (slow networks exist)
SOLUTION_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def notebook_paths(names: Iterable[str] = ()) -> list[Path]:
    """The notebooks in learning order; `names` picks some by file name or prefix ("01", "01-monolith")."""
    paths = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))
    names = list(names)
    if not names:
        return paths
    picked = [p for p in paths if any(p.name == n or p.stem == n or p.name.startswith(n) for n in names)]
    if not picked:
        raise ShopctlError(
            f"no notebook matches {', '.join(names)}", "names are like 01 or 01-monolith; see notebooks/"
        )
    return picked


# Started first when notebooks run side by side, so that the workers finish at about the same time.
SLOWEST = ("04-deploy-anywhere",)


def scheduling_order(paths: Iterable[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: p.stem not in SLOWEST)


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)


def tagged(nb: Any, tag: str) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if tag in cell.get("metadata", {}).get("tags", [])]


def solution_code(markdown: str) -> str:
    match = SOLUTION_BLOCK.search(markdown)
    if not match:
        raise ShopctlError("a cell tagged 'solution' has no ```python block", "put the reference solution in one")
    return match.group(1).rstrip() + "\n"


def with_solutions(nb: Any) -> Any:
    """The notebook with each exercise cell's template replaced by its reference solution (in order)."""
    exercises, solutions = tagged(nb, "exercise"), tagged(nb, "solution")
    if len(exercises) != len(solutions):
        raise ShopctlError(
            f"{len(exercises)} exercise cell(s) but {len(solutions)} solution cell(s)",
            "tag each exercise's template 'exercise' and its reference solution 'solution'",
        )
    for exercise, solution in zip(exercises, solutions, strict=True):
        nb.cells[exercise].source = solution_code(nb.cells[solution].source)
    return nb


@dataclass
class Result:
    path: Path
    seconds: float
    notebook: Any
    failed_cell: int | None = None  # index of the cell that raised
    error: str = ""  # "ExceptionName: message", one line

    @property
    def ok(self) -> bool:
        return self.failed_cell is None

    def failed_tags(self) -> list[str]:
        if self.failed_cell is None:
            return []
        return list(self.notebook.cells[self.failed_cell].get("metadata", {}).get("tags", []))


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "").strip()
    return text.splitlines()[0] if text else ""


def execute(path: Path, *, solutions: bool = True, timeout: int = CELL_TIMEOUT_S) -> Result:
    """Run every cell of `path` in a fresh kernel of this virtualenv; stop at the first error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = read(path)
    if solutions:
        with_solutions(nb)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        # The kernel's own log goes to this terminal; keep it to errors (ipykernel warns on every start
        # that its sockets on 127.0.0.1 are unencrypted — as in any local Jupyter).
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},  # the notebook's folder is its working directory
    )
    started = time.monotonic()
    result = Result(path, 0.0, nb)
    try:
        client.execute()
    except CellExecutionError as error:
        result.failed_cell = _failed_cell(nb)
        result.error = f"{error.ename}: {_first_line(error.evalue)}"
    except (CellTimeoutError, DeadKernelError, RuntimeError) as error:  # RuntimeError: the kernel never started
        result.failed_cell = _failed_cell(nb)
        result.error = f"{type(error).__name__}: {_first_line(str(error))}"
    result.seconds = time.monotonic() - started
    return result


def _failed_cell(nb: Any) -> int:
    """The last cell that ran: execution stops at the failing one."""
    ran = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.get("execution_count")]
    for i, cell in enumerate(nb.cells):
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return i
    return ran[-1] if ran else 0


def execute_many(jobs: list[tuple[Path, bool]], workers: int = 2) -> list[Result]:
    """Execute (path, solutions) pairs, `workers` kernels at a time; results in the order given."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda job: execute(job[0], solutions=job[1]), jobs))


def render_html(result: Result, out_dir: Path = HTML_DIR) -> Path:
    from nbconvert import HTMLExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter().from_notebook_node(result.notebook)
    target = out_dir / f"{result.path.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def stored_outputs(path: Path) -> list[str]:
    """Cells that carry outputs or execution counts (notebooks are committed without them)."""
    found = []
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {i}: outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i}: execution_count {cell.execution_count}")
    return found


def strip(path: Path) -> bool:
    """Remove outputs and execution counts in place. Returns whether the file changed."""
    import nbformat

    nb = read(path)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            cell.outputs, cell.execution_count, changed = [], None, True
    if changed:
        nbformat.write(nb, path)
    return changed


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)


# --- command line --------------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    paths = notebook_paths(args.names)
    html = None if args.no_html else Path(args.html).resolve()
    jobs = max(1, min(args.jobs, len(paths)))
    print(f"… executing {len(paths)} notebook(s), {jobs} at a time (each starts and stops its own local AWS)")
    def one(path: Path) -> Result:
        print(f"  … {path.name}", flush=True)
        result = execute(path)
        if result.ok:
            where = f" → {_shown(render_html(result, html))}" if html else ""
            print(f"  ✓ {path.name} in {result.seconds:.1f}s{where}", flush=True)
        else:
            print(f"  ✗ {path.name}: cell {result.failed_cell} raised {result.error}", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = dict(zip(scheduling_order(paths), pool.map(one, scheduling_order(paths)), strict=True))
    results = [done[path] for path in paths]
    failed = [r for r in results if not r.ok]
    total = sum(r.seconds for r in results)
    if failed:
        first = failed[0]
        if html:
            render_html(first, html)  # the failing notebook, with its traceback, for a look in the browser
        raise ShopctlError(
            f"{len(failed)} of {len(results)} notebook(s) failed; first: {first.path.name} cell {first.failed_cell}: "
            f"{first.error}",
            "open it with `make lab` and run it cell by cell"
            + (f", or read {_shown(html / first.path.stem)}.html" if html else ""),
        )
    print(f"✓ {len(results)} notebook(s) ran without errors ({total:.0f}s summed over notebooks)")
    if html:
        print(f"  HTML: {_shown(html)}/")
    return 0


def _strip(args: argparse.Namespace) -> int:
    for path in notebook_paths(args.names):
        print(f"{'✓ stripped' if strip(path) else '  clean   '} {_shown(path)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = errors.ArgumentParser(prog="python -m shopctl.workshop.notebooks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks (and render HTML)")
    run.add_argument("names", nargs="*", help="notebooks to run (default: all), e.g. 01 or 01-monolith")
    run.add_argument("--html", default=str(HTML_DIR), help="where to write the HTML (default build/notebooks)")
    run.add_argument("--no-html", action="store_true", help="only execute")
    run.add_argument("--jobs", type=int, default=2, help="notebooks executed side by side (default 2)")
    run.set_defaults(func=_run)
    stripper = sub.add_parser("strip", help="remove outputs and execution counts in place")
    stripper.add_argument("names", nargs="*")
    stripper.set_defaults(func=_strip)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ShopctlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted (each notebook's session stops what it started when its kernel shuts down)")
        return 130


if __name__ == "__main__":
    sys.exit(main())
