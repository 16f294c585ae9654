"""A notebook's session: its own run directory and local AWS, and everything it started stopped on close()."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any, TypeVar

from shopctl.aws import state
from shopctl.local import localaws
from shopctl.local.process import temporary_environment

T = TypeVar("T")

# The tests point this at a folder of their own to check that every notebook removed its session.
SESSION_ROOT_ENV = "SHOP_NOTEBOOK_SESSIONS"

# `with workshop.environment(RUNTIME="ECS", …):` in the notebooks: set variables for a block, then restore.
environment = temporary_environment



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
