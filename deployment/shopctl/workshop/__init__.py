"""What the workshop notebooks (notebooks/*.ipynb) call: everything a notebook does lives in project code,
so a notebook stays a guided sequence of calls — and what it shows is what `make` and the tests run.

- `Session`: one notebook's private corner of the machine — its own run directory (SHOP_RUN_DIR) and,
  when asked, its own local AWS on a free port, so a notebook never collides with `make local-aws`,
  `make deploy` or the tests. Whatever the notebook starts is registered with the session and stopped by
  `session.close()` (the cleanup cell), or at the latest when the kernel shuts down.
- `table()` / `code()`: results as Markdown (tables, highlighted source) instead of walls of JSON.
- `environment_checks()`: notebook 00's "is everything ready?" list, each failure with a hint.
- `tests_using()`: which tests of a folder need a given pytest fixture (the AWS emulator, say).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import inspect
import io
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from shopctl.aws import state
from shopctl.local import localaws
from shopctl.local.process import temporary_environment
from shopctl.paths import REPO_ROOT

T = TypeVar("T")

# The tests point this at a folder of their own to check that every notebook removed its session.
SESSION_ROOT_ENV = "SHOP_NOTEBOOK_SESSIONS"


# --- presenting results --------------------------------------------------------------------------------


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


# `with workshop.environment(RUNTIME="ECS", …):` in the notebooks: set variables for a block, then restore.
environment = temporary_environment


# --- a notebook's session ------------------------------------------------------------------------------


class Session:
    """A notebook's own run directory and (optionally) local AWS; stops what it started on close().

        session = Session.start("01-monolith")           # SHOP_RUN_DIR + local AWS on a free port
        shop = session.enter(serving.serve("monolith", "local", session.aws))
        ...
        session.close()                                   # the cleanup cell
    """

    def __init__(self, name: str, run_dir: Path) -> None:
        self.name = name
        self.run_dir = run_dir
        self.aws: localaws.LocalAws | None = None
        # What the session rests on, undone last: its local AWS, then the kernel's environment as it was.
        self._base = ExitStack()
        self._base.enter_context(localaws.restored_environment())
        self._stack = ExitStack()  # what the notebook entered (servers, deployments), undone first
        self._closed = False
        atexit.register(self.close, quiet=True)  # the kernel is shut down or restarted without cleanup

    @classmethod
    def start(cls, name: str, *, aws: bool = True, quiet: bool = False) -> Session:
        root = os.environ.get(SESSION_ROOT_ENV)
        if root:
            Path(root).mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"shop-{name}-", dir=root or None))
        session = cls(name, run_dir)
        os.environ["SHOP_RUN_DIR"] = str(run_dir)
        # ipykernel sets FORCE_COLOR=1 for every subprocess a notebook starts; the tools the notebooks run
        # (pytest, lint-imports inside shopctl.compare) then write ANSI codes into output meant to be read.
        os.environ.pop("FORCE_COLOR", None)
        if not quiet:
            print(f"✓ session {name}: run directory {run_dir}", flush=True)
        if aws:
            session.start_aws(quiet=quiet)
        return session

    def start_aws(self, *, quiet: bool = False) -> localaws.LocalAws:
        """This session's own local AWS (moto server) on a free port; boto3 in this kernel points at it."""
        if self.aws is None:
            try:
                self.aws = self._base.enter_context(localaws.private_local_aws())
            except BaseException:
                self.close(quiet=True)
                raise
            if not quiet:
                print(f"✓ local AWS at {self.aws.endpoint} (pid {self.aws.pid})", flush=True)
        return self.aws

    def enter(self, manager: AbstractContextManager[T]) -> T:
        """Enter a context manager (e.g. `serving.serve(...)`) now; it is exited by close()."""
        return self._stack.enter_context(manager)

    def on_close(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._stack.callback(callback, *args, **kwargs)

    def close(self, *, quiet: bool = False) -> list[str]:
        """Stop everything this session started, newest first; remove its run directory. Idempotent."""
        if self._closed:
            return []
        self._closed = True
        atexit.unregister(self.close)
        done: list[str] = []
        try:
            self._stack.close()
            if state.deployments_dir().exists() and any(state.all_states()):
                from shopctl import fleet

                with contextlib.redirect_stdout(io.StringIO()):
                    done += fleet.destroy_all(keep_data=False)
        finally:
            self._base.close()  # stops the local AWS, restores the environment
            if self.aws is not None:
                done.append(f"local AWS on port {self.aws.port} (pid {self.aws.pid})")
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if not quiet:
            for line in done:
                print(f"✓ stopped/removed {line}")
            print(f"✓ session {self.name} closed: nothing it started is left running", flush=True)
        return done


# --- notebook 00: is the environment ready? ----------------------------------------------------------


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str
    hint: str = ""


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# `make venv` writes this file into the virtualenv's site-packages (it puts the stages on the path).
VENV_MARKER = "shapeshifting_workshop.pth"


def environment_checks(aws: localaws.LocalAws | None = None) -> list[Check]:
    import site

    checks = [
        Check(
            "Python ≥ 3.11",
            sys.version_info >= (3, 11),
            sys.version.split()[0],
            "install Python 3.11+ and run `make venv` again",
        ),
        Check(
            "kernel runs the project's virtualenv",
            any(Path(d, VENV_MARKER).exists() for d in site.getsitepackages()),
            sys.executable,
            "open the notebooks with `make lab` (or pick the kernel of .venv/bin/python)",
        ),
    ]
    for names, what in (
        (("fastapi", "mangum", "boto3", "httpx", "uvicorn"), "the apps' packages"),
        (("moto", "pytest", "matplotlib", "nbclient"), "the workshop's tools"),
        (("monolith", "users_service", "orders_service", "gateway", "clean_shop", "shopctl"), "the stages' code"),
    ):
        missing = [n for n in names if not _importable(n)]
        checks.append(
            Check(what, not missing, ", ".join(names) if not missing else "missing: " + ", ".join(missing), "make venv")
        )
    if aws is not None:
        up = localaws.is_up(aws.port)
        checks.append(
            Check("local AWS answers", up, aws.endpoint, "see the run directory's moto-<port>.log; is the port free?")
        )
    real = os.environ.get("AWS_ENDPOINT_URL", "")
    checks.append(
        Check(
            "boto3 points at the local AWS, not an account",
            real.startswith("http://127.0.0.1:"),
            real or "(AWS_ENDPOINT_URL not set)",
            "start a Session first: it sets AWS_ENDPOINT_URL and dummy credentials",
        )
    )
    return checks


def require(checks: Iterable[Check]) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        raise RuntimeError("; ".join(f"{c.what}: {c.detail} (hint: {c.hint})" for c in failed))


# --- which tests need what ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TestUsage:
    path: str
    tests: int
    using: int


@contextlib.contextmanager
def _quiet_pytest() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def tests_using(fixture: str, *paths: str) -> list[TestUsage]:
    """How many tests under each of `paths` (relative to the repository) use `fixture`, directly or
    through another fixture — collected by pytest itself, nothing is run."""
    import pytest

    class Recorder:
        def __init__(self) -> None:
            self.items: list[Any] = []

        def pytest_collection_finish(self, session: Any) -> None:
            self.items = list(session.items)

    usage = []
    for path in paths:
        recorder = Recorder()
        with _quiet_pytest():
            code = pytest.main(
                ["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO_ROOT), str(REPO_ROOT / path)],
                plugins=[recorder],
            )
        if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            raise RuntimeError(f"pytest could not collect {path} (exit code {int(code)})")
        using = sum(1 for item in recorder.items if fixture in getattr(item, "fixturenames", ()))
        usage.append(TestUsage(path, len(recorder.items), using))
    return usage


# --- notebook 05: the comparison as a chart -----------------------------------------------------------


def impact_chart(result: dict[str, Any]) -> Any:
    """Two bar charts from `shopctl.compare.coupling.analyse()`: per change and stage, the code lines
    touched and the existing definitions edited (shared code that must be opened up)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    changes = list(result["impact"].values())
    stages = list(result["stages"])
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    width = 0.8 / len(stages)
    for metric, axis, title in (
        ("lines", axes[0], "code lines touched"),
        ("edited_definitions", axes[1], "existing functions/classes edited"),
    ):
        for i, stage in enumerate(stages):
            values = [change["stages"][stage][metric] for change in changes]
            bars = axis.bar([x + i * width for x in range(len(changes))], values, width, label=stage)
            axis.bar_label(bars, fontsize=8)
        axis.set_xticks([x + width * (len(stages) - 1) / 2 for x in range(len(changes))])
        axis.set_xticklabels([textwrap.fill(c["title"], 20) for c in changes], fontsize=8)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(title)
    axes[0].legend()
    figure.suptitle("What each change costs, per stage (computed from the code by shopctl.compare)")
    return figure


def invocations_chart(reports: Sequence[Any]) -> Any:
    """Lambda invocations from their REPORT lines (`shopctl.targets.coldstart.Report`): the time each one took,
    init included, on a log scale — a cold start is two or three orders of magnitude above a warm one."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2), constrained_layout=True)
    totals = [(r.init_ms or 0) + r.duration_ms for r in reports]
    colors = ["tab:red" if r.cold else "tab:blue" for r in reports]
    labels = [f"#{i}\n{'cold' if r.cold else 'warm'}" for i, r in enumerate(reports, 1)]
    bars = axis.bar(labels, totals, color=colors)
    axis.bar_label(bars, labels=[f"{t:,.0f} ms" if t >= 10 else f"{t:.1f} ms" for t in totals], fontsize=8)
    axis.set_yscale("log")
    axis.set_ylabel("Init Duration + Duration (ms)")
    axis.set_title("One cold start, then warm reuse of the same execution environment")
    return figure
