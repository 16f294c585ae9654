"""What stands in for AWS's compute on this machine during a deployment: the local Lambda service, the
local ECS/EKS supervisors and the microservices' gateway, each one process recorded by pid in the
deployment's state record (so a re-deploy keeps it and `make destroy` stops it).

The record is not written here: a started process is handed to the deployment's `Ledger` (the deploy in
progress, `shopctl.targets.rollout.Rollout`), the one writer of the record."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Protocol

import httpx

from shopctl import httpclient
from shopctl.aws import state
from shopctl.errors import ShopctlError
from shopctl.local.localaws import terminate
from shopctl.local.net import free_port, port_in_use, wait_healthy
from shopctl.local.process import base_environ, spawn, uvicorn_argv
from shopctl.local.supervisor import CONTROL_PATH, Spec, spec_digest
from shopctl.paths import run_dir
from shopctl.stages import Stage


class Ledger(Protocol):
    """The deployment a process belongs to: its name, the processes it recorded, and how to record one."""

    @property
    def name(self) -> str: ...

    def process(self, name: str) -> state.LocalProcess | None: ...

    def record(self, proc: state.LocalProcess) -> None:
        """Record a started process at once (not when the whole deploy ends): after a Ctrl-C later in the
        deploy, the next deploy keeps it and `make destroy` stops it (it runs in its own session, so Ctrl-C
        does not reach it)."""
        ...


def manifest_dir(deployment_name: str) -> Path:
    """Where a deployment's local files live: logs, supervisor specs, rendered manifests."""
    path = run_dir() / "deployments" / deployment_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def local_process(
    deployment: Ledger,
    name: str,
    argv: list[str],
    env: dict[str, str],
    *,
    port: int | None,
    ready_path: str,
    what: str,
) -> state.LocalProcess:
    """Start (or keep) one local process of a deployment listening on `port`.

    A process that is still alive is kept: the local Lambda and the local ECS/EKS supervisors follow
    configuration changes themselves, and keeping them keeps the deployment's URL.
    """
    current = deployment.process(name)
    if current and current.alive():
        return current
    port = port if port is not None else (current.port if current else free_port())
    if port_in_use(port):
        raise ShopctlError(f"port {port} is already in use", "free it, or pass another port (DEPLOY_PORT=…)")
    log = manifest_dir(deployment.name) / f"{name}.log"
    proc = spawn(name, [arg.replace("{port}", str(port)) for arg in argv], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        healthy = wait_healthy(url + ready_path, 45, proc.alive)
    except BaseException:  # Ctrl-C while it starts: do not leave it running unrecorded
        proc.stop()
        raise
    if not healthy:
        proc.stop()
        raise ShopctlError(f"{what} did not start", f"its log, {log}:\n{proc.log_tail()}")
    started = state.LocalProcess(name, proc.pid, port, url, str(log))
    deployment.record(started)
    return started


def wait_rolled_out(proc: state.LocalProcess, spec_path: Path, what: str, timeout: float = 120.0) -> None:
    """Wait until a kept supervisor runs the spec just written on every replica (`kubectl rollout status`,
    `aws ecs wait services-stable`): a re-deploy returns once the new revision serves all traffic."""
    revision = spec_digest(spec_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = httpclient.get(proc.url + CONTROL_PATH, timeout=5).json()
        except httpx.HTTPError:
            status = {}
        if status.get("failed_revision") == revision:
            raise ShopctlError(f"the new revision of {what} never passed its health check", f"see {proc.log}")
        if status.get("revision") == revision and not status.get("rolling"):
            return
        time.sleep(0.2)
    raise ShopctlError(f"{what} did not roll out within {timeout:.0f}s", f"see {proc.log}")


def local_supervisor(
    deployment: Ledger, stage: str, spec: Spec, spec_path: Path, *, port: int | None, what: str
) -> state.LocalProcess:
    """Local ECS tasks / EKS pods: one supervisor running `spec` (written at `spec_path`) behind `port`, recorded
    in the deployment's state; on a re-deploy, waited for until every replica runs the new spec."""
    proc = local_process(
        deployment,
        spec.name,
        python_module("shopctl.local.supervisor", "--spec", str(spec_path), "--port", "{port}"),
        base_environ(stage, {}),
        port=port,
        ready_path=spec.health_path,
        what=what,
    )
    wait_rolled_out(proc, spec_path, what)
    return proc


def local_gateway(
    deployment: Ledger, stage: Stage, urls: dict[str, str], port: int, runtime: str
) -> state.LocalProcess:
    """Microservices: one local base URL routing /users* and /orders* (an ALB or API gateway on AWS)."""
    gateway = stage.service(stage.entry)
    env = {"RUNTIME": runtime, **{f"{up.upper()}_SERVICE_URL": urls[up] for up in gateway.upstreams}}
    argv = uvicorn_argv(gateway.asgi, 0, access_log=True)
    argv[argv.index("--port") + 1] = "{port}"
    # The gateway's own liveness: its API page (local assets) answers without calling the services. Its
    # /health and /openapi.json call both: behind the local Lambda each poll of those that gave up (1 s)
    # while a service still started sent it another invocation, and so another cold start.
    return local_process(
        deployment,
        gateway.name,
        argv,
        base_environ(stage.name, env),
        port=port,
        ready_path="/docs",
        what="the local gateway",
    )


def stop_processes(deployment: state.DeploymentState | None) -> list[str]:
    stopped = []
    for proc in deployment.processes if deployment else []:
        if proc.alive():
            terminate(proc.pid)
            stopped.append(f"process {proc.name} (pid {proc.pid})")
    return stopped
