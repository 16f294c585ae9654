"""What the three deploy targets (lambda, ecs, eks) share: naming, table settings, log groups, and the
local processes a deployment starts (each tracked by pid in the deployment's state file)."""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from botocore.exceptions import ClientError

from shopctl.aws import clients, resources, state
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.local.net import free_port, port_in_use, wait_healthy
from shopctl.local.process import base_environ, spawn, uvicorn_argv
from shopctl.local.supervisor import Spec
from shopctl.paths import run_dir
from shopctl.stages import Service, Stage, get_stage

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


def ensure_log_group(name: str, retention_days: int = 14, tags: Tags | None = None) -> None:
    logs = clients.client("logs")
    try:
        logs.create_log_group(logGroupName=name, tags=(tags or Tags()).as_dict())
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)


def delete_log_group(name: str) -> bool:
    try:
        clients.client("logs").delete_log_group(logGroupName=name)
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


def wait_rolled_out(proc: state.LocalProcess, spec_path: Path, what: str, timeout: float = 120.0) -> None:
    """Wait until a kept supervisor runs the spec just written on every replica (`kubectl rollout status`,
    `aws ecs wait services-stable`): a re-deploy returns once the new revision serves all traffic."""
    import httpx

    from shopctl import httpclient
    from shopctl.local.supervisor import CONTROL_PATH, spec_digest

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
    rollout: Rollout, spec: Spec, spec_path: Path, *, port: int | None, what: str
) -> state.LocalProcess:
    """Local ECS tasks / EKS pods: one supervisor running `spec` (written at `spec_path`) behind `port`, recorded
    in the deployment's state; on a re-deploy, waited for until every replica runs the new spec."""
    proc = local_process(
        rollout.deployment,
        spec.name,
        python_module("shopctl.local.supervisor", "--spec", str(spec_path), "--port", "{port}"),
        base_environ(rollout.stage.name, {}),
        port=port,
        ready_path=spec.health_path,
        what=what,
    )
    rollout.deployment.set_process(proc)
    wait_rolled_out(proc, spec_path, what)
    return proc


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
    from shopctl.local.localaws import terminate

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
    ecr = clients.client("ecr")
    name = f"shop-{stage.name}"
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        repo = ecr.create_repository(
            repositoryName=name,
            imageScanningConfiguration={"scanOnPush": True},
            tags=Tags(stage.name).key_value(),  # shared by the stage's ECS and EKS deployments
        )["repository"]
    return repo["repositoryUri"], repo["repositoryArn"]


def image_reference(stage: Stage, repository_uri: str, env: str, say, tag: str | None = None) -> str:
    """The image ECS/EKS run: built and pushed on ENV=aws; locally only its reference is recorded (the local
    tasks and pods run the same command on this machine's Python). The tag is derived from the content
    unless one is given (e.g. a CI build number)."""
    from shopctl.aws import image

    if env == "aws":
        return image.publish(stage.name, repository_uri, say, tag=tag)
    return f"{repository_uri}:{tag or image.content_tag(stage.name)}"


def container_deployment_exists(stage: Stage, target: str) -> bool:
    """Does the stage's ECS or EKS deployment exist — by its state record *or* by what AWS holds (an ACTIVE
    ECS service; an EKS pod role), so a lost state file does not make a running service look gone."""
    if state.load(f"{stage.name}-{target}") is not None:
        return True
    names = [resource_name(stage, service) for service in stage.app_services()]
    if target == "ecs":
        try:
            found = clients.client("ecs").describe_services(cluster="shop", services=names)["services"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ClusterNotFoundException":
                raise
            return False
        return any(s["status"] != "INACTIVE" for s in found)
    iam = clients.client("iam")
    for name in names:
        try:
            iam.get_role(RoleName=f"{name}-eks-pod")
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchEntity":
                raise
    return False


def lambda_image_function_exists(stage: Stage) -> bool:
    """Does a Lambda function of the stage run its container image (PACKAGE=image) — by its state record *or*
    by what Lambda holds, like `container_deployment_exists`."""
    record = state.load(f"{stage.name}-lambda")
    if record is not None and record.resources.image_repository:
        return True
    names = {resource_name(stage, service) for service in stage.app_services()}
    for page in clients.client("lambda").get_paginator("list_functions").paginate():
        if any(f["FunctionName"] in names and f.get("PackageType") == "Image" for f in page["Functions"]):
            return True
    return False


def delete_repository_unless_used(stage: Stage, *, deleting: str) -> bool:
    """Delete the stage's image repository (force: with its images), unless another of the stage's deployments
    (ECS, EKS, or Lambda with PACKAGE=image) — any but the one `deleting` — still pulls from it."""
    others = {
        "ecs": lambda: container_deployment_exists(stage, "ecs"),
        "eks": lambda: container_deployment_exists(stage, "eks"),
        "lambda": lambda: lambda_image_function_exists(stage),
    }
    users = [f"{stage.name}-{target}" for target, uses in others.items() if target != deleting and uses()]
    if users:
        print(
            f"  ECR repository shop-{stage.name} kept: {', '.join(users)} still run(s) its image "
            "(storage about $0.10 per GB-month on AWS, nothing per hour)",
            flush=True,
        )
        return False
    try:
        clients.client("ecr").delete_repository(repositoryName=f"shop-{stage.name}", force=True)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "RepositoryNotFoundException":
            raise
        return False


def recorded_tables(deployment: state.DeploymentState | None, name: str) -> resources.TableNames:
    """The tables a deployment used (recorded at deploy time; the mixed deployment shares its own)."""
    if deployment and deployment.resources.tables:
        return deployment.resources.tables
    return resources.TableNames.for_deployment(name)


TARGET_LABEL = {"lambda": "Lambda", "ecs": "ECS", "eks": "EKS"}


@dataclass
class Rollout:
    """One deploy in progress: its state record, its tables, and the progress lines it prints."""

    stage: Stage
    target: str
    env: str
    deployment: state.DeploymentState
    tables: resources.TableNames
    quiet: bool = False
    started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def entry_port(self, service: Service, requested: int | None) -> int | None:
        """The stage's entry service gets the deployment's stable base-URL port; internal ones any free port."""
        if service.name != self.stage.entry:
            return None
        return requested or default_port(self.target, self.stage.name)

    def finish(self, base_url: str, created: state.DeploymentResources, note: str = "") -> state.DeploymentState:
        self.deployment.url = base_url
        self.deployment.resources = dataclasses.replace(created, tables=self.tables)
        state.save(self.deployment)
        elapsed = time.monotonic() - self.started
        label = TARGET_LABEL[self.target]
        self.say(f"✓ deployed {self.stage.name} to {label} in {elapsed:.1f}s\n\n  URL: {base_url or note}\n")
        return self.deployment


def begin(stage_name: str, target: str, *, env: str, tables: resources.TableNames | None, quiet: bool) -> Rollout:
    """The first steps of every deploy: load (or start) the state record and make sure the tables exist."""
    stage = get_stage(stage_name)
    name = f"{stage.name}-{target}"
    deployment = state.load(name) or state.DeploymentState(name, stage.name, target, env)
    rollout = Rollout(stage, target, env, deployment, tables or resources.TableNames.for_deployment(name), quiet)
    rollout.say(f"… deploying {stage.name} to {TARGET_LABEL[target]} ({env})")
    # Tagged with the deployment when they are its own; with the stage only when shared (the mixed deployment).
    table_tags = Tags(stage.name) if tables else Tags(stage.name, target)
    created = resources.ensure_tables(rollout.tables, tags=table_tags)
    what = " (created)" if created else " (already there)"
    rollout.say(f"✓ tables {rollout.tables.users}, {rollout.tables.orders}{what}")
    return rollout


def entry_url(rollout: Rollout, urls: dict[str, str], port: int | None, runtime: str) -> str:
    """The deployment's one local base URL: the entry service's, or a local gateway's for microservices."""
    if rollout.stage.entry in urls:
        return urls[rollout.stage.entry]
    gateway = local_gateway(
        rollout.deployment, rollout.stage, urls, port or default_port(rollout.target, rollout.stage.name), runtime
    )
    rollout.deployment.set_process(gateway)
    rollout.say(f"✓ local gateway {gateway.url} → " + ", ".join(f"{k} {v}" for k, v in urls.items()))
    return gateway.url


def report_removed(removed: list[str], *, keep_data: bool, quiet: bool, notes: tuple[str, ...] = ()) -> list[str]:
    """What every destroy prints: each removed resource, and what was deliberately kept."""
    if not quiet:
        for line in removed:
            print(f"✓ removed {line}")
        if keep_data:
            print(
                "  tables kept (data is not deleted by accident; on-demand tables cost nothing per hour on AWS, "
                "storage about $0.25 per GB-month); KEEP_DATA=0 removes them too"
            )
        for note in notes:
            print(f"  {note}")
    return removed
