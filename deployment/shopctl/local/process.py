"""Start, watch and stop the local processes of a deployment, each tracked by its own pid."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shopctl.local.localaws import terminate
from shopctl.paths import STAGE_DIRS

# Settings a stage reads: never inherited from the caller's shell, only set explicitly per deployment.
APP_ENV_KEYS = (
    "RUNTIME",
    "USERS_TABLE",
    "ORDERS_TABLE",
    "SSM_PREFIX",
    "CONFIG_FILE",
    "USERS_SERVICE_URL",
    "ORDERS_SERVICE_URL",
    "STORAGE",
)


def base_environ(stage: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV_KEYS}
    env["PYTHONPATH"] = str(STAGE_DIRS[stage])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        terminate(self.popen.pid)
        self.popen.poll()

    def log_tail(self, lines: int = 15) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def spawn(name: str, argv: list[str], env: dict[str, str], log: Path | None) -> Proc:
    """Start `argv` in its own process group (so Ctrl-C and stop() reach it and its children)."""
    out = log.open("ab") if log else None
    popen = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        start_new_session=True,
    )
    return Proc(name, popen, log)


def uvicorn_argv(asgi: str, port: int, *, access_log: bool) -> list[str]:
    argv = [sys.executable, "-m", "uvicorn", asgi, "--host", "127.0.0.1", "--port", str(port)]
    if not access_log:
        argv.append("--no-access-log")
    return argv


@contextlib.contextmanager
def temporary_environment(**variables: str) -> Iterator[None]:
    """Set process environment variables for the duration of a `with` block, then restore them — how the
    monolith and the microservices are steered in tests and notebooks (nothing can be passed in, so the
    environment is the only handle)."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
