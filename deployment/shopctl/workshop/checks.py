"""Notebook 00's "is everything ready?" list, and which tests need a given pytest fixture (notebook 01)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.local import localaws
from shopctl.paths import REPO_ROOT


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
