"""The local AWS: moto in server mode on 127.0.0.1, started in the background and tracked by its pid.

The apps never know it is local: they get AWS_ENDPOINT_URL plus dummy credentials, boto3's standard
way of pointing at another endpoint, and the very same code would talk to a real account without them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from shopctl import httpclient
from shopctl.errors import ShopctlError
from shopctl.local.net import free_port
from shopctl.paths import run_dir

DEFAULT_PORT = 5000
REGION = "us-east-1"

# Dummy credentials: moto accepts anything, and they make sure a misconfigured shell can never
# send a local run's requests to a real account by accident.
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass(frozen=True)
class LocalAws:
    port: int
    pid: int | None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environ(self) -> dict[str, str]:
        """The environment a process needs to use this local AWS through plain boto3."""
        return {"AWS_ENDPOINT_URL": self.endpoint, **LOCAL_CREDENTIALS}

    def use(self) -> None:
        """Point this process's boto3 at the local AWS (and never at a profile's real account)."""
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(self.environ())


def from_environment() -> LocalAws:
    """The local AWS this process's boto3 points at (AWS_ENDPOINT_URL set by `use()`), or a ShopctlError."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    prefix = "http://127.0.0.1:"
    if not endpoint.startswith(prefix) or not endpoint[len(prefix) :].isdigit():
        raise ShopctlError(
            f"this needs the local AWS, but AWS_ENDPOINT_URL is {endpoint or 'not set'}",
            "run it through make (ENV=local), which starts the local AWS first",
        )
    return LocalAws(int(endpoint[len(prefix) :]), None)


def _pid_file(port: int) -> Path:
    return run_dir() / f"moto-{port}.pid"


def _log_file(port: int) -> Path:
    return run_dir() / f"moto-{port}.log"


def is_up(port: int) -> bool:
    try:
        return httpclient.get(f"http://127.0.0.1:{port}/moto-api/", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _read_pid(port: int) -> int | None:
    try:
        pid = int(_pid_file(port).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def status(port: int = DEFAULT_PORT) -> LocalAws | None:
    return LocalAws(port, _read_pid(port)) if is_up(port) else None


def start(port: int = DEFAULT_PORT, *, quiet: bool = False, timeout: float = 30.0) -> tuple[LocalAws, bool]:
    """Start moto server unless it already answers on `port`. Returns (local_aws, started_by_us)."""
    if is_up(port):
        return LocalAws(port, _read_pid(port)), False
    if not quiet:
        print(f"… starting local AWS (moto server) on 127.0.0.1:{port}", flush=True)
    log = _log_file(port).open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopctl.local.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal goes to us, and we stop it by pid
        # moto can record the requests it serves (off until asked); the tests use it to check IAM policies.
        env={
            **os.environ,
            "MOTO_RECORDER_FILEPATH": str(run_dir() / f"moto-{port}.recording"),
            # AWS managed policies exist in a real account; the EKS Auto Mode cluster roles attach some.
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            # …but no EC2 images: nothing here launches an instance, and moto would make ~1,300 AMIs (each
            # with a volume and a snapshot) in every region the ECS/EKS deploys ask EC2 about.
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        },
    )
    _pid_file(port).write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ShopctlError(
                f"local AWS exited at start (code {proc.returncode}); see {_log_file(port)}",
                f"is port {port} taken? try LOCAL_AWS_PORT=<other port>",
            )
        if is_up(port):
            if not quiet:
                print(f"✓ local AWS ready at http://127.0.0.1:{port} (pid {proc.pid})", flush=True)
            return LocalAws(port, proc.pid), True
        time.sleep(0.1)
    stop(port)
    raise ShopctlError(f"local AWS did not answer within {timeout:.0f}s", f"see {_log_file(port)}")


def stop(port: int = DEFAULT_PORT, *, quiet: bool = False) -> bool:
    """Stop the moto server we started on `port` (by its recorded pid). Returns whether one was stopped."""
    pid = _read_pid(port)
    _pid_file(port).unlink(missing_ok=True)
    if pid is None:
        if not quiet:
            print(f"local AWS on port {port} is not running (no live pid recorded)")
        return False
    terminate(pid)
    if not quiet:
        print(f"✓ local AWS on port {port} stopped (pid {pid})")
    return True


def terminate(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM a process group we started, then SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                waited = 0
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
            else:
                if waited == pid:
                    return
            time.sleep(0.05)


@contextlib.contextmanager
def restored_environment() -> Iterator[None]:
    """Whatever the block does to the process environment (boto3's endpoint, SHOP_RUN_DIR, …) is undone
    at its end: the variables are put back exactly as they were, added ones removed."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def private_local_aws(run: Path | None = None, *, quiet: bool = True) -> Iterator[LocalAws]:
    """A local AWS of one's own for the duration of a `with` block — the one way tests, `make compare`,
    `make verify`, the exercise checks and the notebooks run against AWS without touching what a learner
    has running (`make local-aws` on port 5000, their `.run/`):

    - a moto server on a free port, started here and stopped (by its pid) at the end;
    - this process's boto3 pointed at it (`LocalAws.use`), and SHOP_RUN_DIR at `run` when given, so the
      deployments made inside keep their records and logs there;
    - the process environment restored exactly at the end.
    """
    with restored_environment():
        if run is not None:
            os.environ["SHOP_RUN_DIR"] = str(run)
        os.environ.pop("AWS_PROFILE", None)  # not even the server may look for a profile's credentials
        aws, _ = start(free_port(), quiet=quiet)
        try:
            aws.use()
            yield aws
        finally:
            stop(aws.port, quiet=True)
