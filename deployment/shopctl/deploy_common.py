"""What the three deploy targets (lambda, ecs, eks) share: naming, table settings, log groups, and the
local processes a deployment starts (each tracked by pid in the deployment's state file)."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from shopctl import resources, state
from shopctl.errors import ShopctlError
from shopctl.net import free_port, port_in_use, wait_healthy
from shopctl.paths import run_dir
from shopctl.process import base_environ, spawn, uvicorn_argv
from shopctl.stages import Service, Stage

# Stable local base URLs, so a learner can keep a browser tab open across re-deploys:
# 91xx Lambda, 92xx ECS, 93xx EKS; xx01 monolith, xx02 microservices, xx03 clean.
TARGET_PORT_BASE = {"lambda": 9100, "ecs": 9200, "eks": 9300}
STAGE_PORT_OFFSET = {"monolith": 1, "microservices": 2, "clean": 3}


def default_port(target: str, stage: str) -> int:
    return TARGET_PORT_BASE[target] + STAGE_PORT_OFFSET[stage]


def resource_name(stage: Stage, service: Service) -> str:
    """`shop-<stage>` for one-service stages, `shop-<stage>-<service>` otherwise (functions, task
    families, Kubernetes Deployments all use it)."""
    return f"shop-{stage.name}" if len(stage.app_services()) == 1 else f"shop-{stage.name}-{service.name}"


def table_env(service: Service, tables: resources.TableNames) -> dict[str, str]:
    settings = tables.settings()
    return {resources.env_name(key): settings[key] for key in service.settings}


def table_kinds(service: Service, tables: resources.TableNames) -> dict[str, str]:
    settings = tables.settings()
    return {key.split("/")[0]: settings[key] for key in service.settings}


def ensure_log_group(name: str, retention_days: int = 14) -> None:
    logs = boto3.client("logs")
    try:
        logs.create_log_group(logGroupName=name, tags={"project": "shapeshifting-workshop"})
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)


def delete_log_group(name: str) -> bool:
    try:
        boto3.client("logs").delete_log_group(logGroupName=name)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return False


def local_process(
    deployment: state.DeploymentState,
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
    log = run_dir() / "deployments" / deployment.name / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
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
    # Recorded at once, not when the whole deploy ends: after a Ctrl-C later in the deploy, the next
    # deploy keeps this process and `make destroy` stops it (it runs in its own session, so Ctrl-C
    # does not reach it).
    deployment.set_process(started)
    state.save(deployment)
    return started


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def local_gateway(
    deployment: state.DeploymentState, stage: Stage, urls: dict[str, str], port: int, runtime: str
) -> state.LocalProcess:
    """Microservices: one local base URL routing /users* and /orders* (an ALB or API gateway on AWS)."""
    gateway = stage.service(stage.entry)
    env = {"RUNTIME": runtime, **{f"{up.upper()}_SERVICE_URL": urls[up] for up in gateway.upstreams}}
    argv = uvicorn_argv(gateway.asgi, 0, access_log=True)
    argv[argv.index("--port") + 1] = "{port}"
    # The gateway's own liveness: its OpenAPI document answers without calling the services.
    return local_process(
        deployment,
        gateway.name,
        argv,
        base_environ(stage.name, env),
        port=port,
        ready_path="/openapi.json",
        what="the local gateway",
    )


def stop_processes(deployment: state.DeploymentState | None) -> list[str]:
    from shopctl.localaws import terminate

    stopped = []
    for proc in deployment.processes if deployment else []:
        if proc.alive():
            terminate(proc.pid)
            stopped.append(f"process {proc.name} (pid {proc.pid})")
    return stopped


def manifest_dir(deployment_name: str) -> Path:
    path = run_dir() / "deployments" / deployment_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_repository(stage: Stage) -> tuple[str, str]:
    """The stage's one image repository, shared by its ECS and EKS deployments (one image, any compute)."""
    ecr = boto3.client("ecr")
    name = f"shop-{stage.name}"
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        repo = ecr.create_repository(
            repositoryName=name,
            imageScanningConfiguration={"scanOnPush": True},
            tags=[{"Key": "project", "Value": "shapeshifting-workshop"}],
        )["repository"]
    return repo["repositoryUri"], repo["repositoryArn"]


def delete_repository_unless_used(stage: Stage, *, by_other: str) -> bool:
    """Delete the stage's image repository, unless the other container deployment still uses it."""
    if state.load(by_other) is not None:
        return False
    try:
        boto3.client("ecr").delete_repository(repositoryName=f"shop-{stage.name}", force=True)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        return False


def recorded_tables(deployment: state.DeploymentState | None, name: str) -> resources.TableNames:
    """The tables a deployment used (recorded at deploy time; the mixed deployment shares its own)."""
    if deployment and deployment.resources.get("tables"):
        return resources.TableNames(**deployment.resources["tables"])
    return resources.TableNames.for_deployment(name)
