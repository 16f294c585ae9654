"""Deploy safety: a deploy is idempotent, keeps data, cleans up after itself and survives Ctrl-C.

Per stage and deploy target (ENV=local, everything read back from the local AWS with boto3):
1. deploy, store a user and an order, describe every resource of the deployment (function configuration
   and CodeSha256, Function URL and its resource policy, IAM roles with their trust and inline policies,
   log groups, packages in S3, task definitions, services, SSM parameters with their versions, the
   security group, the image repository, the rendered Kubernetes manifests, the local processes);
2. deploy again: the description must be identical — not one new revision, version or process;
3. a new version keeps the data (ECS/EKS: another image tag; Lambda, whose code cannot change here: a
   deploy that has to update the function's configuration, drifted by hand, back);
4. destroy, keeping data: only the tables remain, every local process (and its children) is gone;
5. `python -m shopctl deploy …` interrupted with SIGINT (Ctrl-C) mid-way, then run again: the end state
   matches the first deploy (ids, timestamps, revision numbers and ports aside) and the data is there;
6. destroy with data: nothing of the deployment is left in the local AWS, no process on the machine.
What several deployments share is kept by design and not counted: the ECS cluster, the EKS cluster
record with its OIDC provider, the Lambda artifact bucket (its packages are removed).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from botocore.exceptions import ClientError

from shopctl import httpclient
from shopctl.aws import clients, iam, state
from shopctl.aws.resources import TableNames
from shopctl.local.deployment import manifest_dir
from shopctl.local.net import free_port
from shopctl.serving import DEPLOY_TARGETS
from shopctl.stages import get_stage
from shopctl.targets import ecs_target, eks_target, k8s, lambda_target, registry, rollout
from shopctl.verify.env import current_aws
from shopctl.verify.result import Result

CHECK = "deploy safety"
# Differ between two clean deploys of the same thing: generated ids, timestamps, revision numbers, ports.
VOLATILE_KEYS = {
    "RoleId", "RevisionId", "LastModified", "CreateDate", "creationTime", "CreationDateTime", "registeredAt",
    "createdAt", "LastModifiedDate", "Version", "revision", "pid", "FunctionUrl", "TableId", "GroupId",
    "LatestStreamArn", "LatestStreamLabel", "ItemCount", "TableSizeBytes", "UrlId", "port", "url", "registryId",
}  # fmt: skip
VOLATILE_TEXT = [
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"(task-definition/[\w-]+):\d+"), r"\1:<revision>"),
    (re.compile(r"sg-[0-9a-f]+"), "sg-<id>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
]
SUBPROCESS_TIMEOUT_S = 300
# Ctrl-C right after this progress line: the cloud side is done, the local processes are being started.
INTERRUPT_DELAY_S = 0.3
INTERRUPT_AFTER = {"lambda": "✓ function", "ecs": "✓ service", "eks": "✓ manifests rendered"}


def cases(stages: list[str], targets: list[str]) -> list[tuple[str, str]]:
    return [(stage, target) for target in targets if target in DEPLOY_TARGETS for stage in stages]


# --- what a deployment consists of, read back from the local AWS ------------------------------------------


def _ignore_missing(call, *codes: str) -> Any:
    try:
        return call()
    except ClientError as error:
        if error.response["Error"]["Code"] in codes or "NotFound" in error.response["Error"]["Code"]:
            return None
        raise


def _roles(names: list[str]) -> dict[str, Any]:
    roles = {name: iam.read_role(name) for name in names}
    return {f"iam role {name}": role for name, role in roles.items() if role is not None}


def _log_group(name: str) -> dict[str, Any]:
    groups = clients.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return {f"log group {g['logGroupName']}": {"retention": g.get("retentionInDays")}
            for g in groups if g["logGroupName"] == name}  # fmt: skip


def _tables(tables: TableNames) -> dict[str, Any]:
    client = clients.client("dynamodb")
    out = {}
    for name in (tables.users, tables.orders):
        table = _ignore_missing(lambda n=name: client.describe_table(TableName=n)["Table"])
        if table is not None:
            out[f"table {name}"] = {
                k: table.get(k)
                for k in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingModeSummary")
            }
    return out


def _lambda_resources(stage_name: str) -> dict[str, Any]:
    stage = get_stage(stage_name)
    client = clients.client("lambda")
    s3 = clients.client("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("shop-lambda-artifacts")]
    out: dict[str, Any] = {}
    for service in lambda_target.lambda_services(stage):
        fn = lambda_target.function_name(stage, service)
        config = _ignore_missing(lambda f=fn: client.get_function_configuration(FunctionName=f))
        if config is not None:
            config.pop("ResponseMetadata", None)
            url = _ignore_missing(lambda f=fn: client.get_function_url_config(FunctionName=f))
            policy = _ignore_missing(lambda f=fn: client.get_policy(FunctionName=f)["Policy"])
            out[f"function {fn}"] = {
                "configuration": config,
                "url": {k: url.get(k) for k in ("FunctionUrl", "AuthType", "Cors")} if url else None,
                "resource policy": json.loads(policy) if policy else None,
            }
        out |= _roles([f"{fn}-role"]) | _log_group(f"/aws/lambda/{fn}")
        for bucket in buckets:
            objects = s3.list_objects_v2(Bucket=bucket, Prefix=f"{fn}/").get("Contents", [])
            if objects:
                out[f"packages s3://{bucket}/{fn}/"] = sorted((o["Key"], o["ETag"]) for o in objects)
    return out


def _ecs_resources(stage_name: str) -> dict[str, Any]:
    stage = get_stage(stage_name)
    ecs, ssm, ec2 = clients.client("ecs"), clients.client("ssm"), clients.client("ec2")
    out: dict[str, Any] = {}
    roles = [f"shop-{stage.name}-ecs-execution"]
    for service in stage.app_services():
        fam = ecs_target.family(stage, service)
        roles.append(f"{fam}-ecs-task")
        found = _ignore_missing(lambda f=fam: ecs.describe_services(cluster=ecs_target.CLUSTER, services=[f]))
        for svc in (found or {}).get("services", []):
            if svc["status"] == "ACTIVE":
                out[f"ecs service {fam}"] = {
                    k: svc.get(k)
                    for k in ("taskDefinition", "desiredCount", "launchType", "networkConfiguration")
                }
        active = []  # every ACTIVE revision: a deploy that registers a needless one shows here
        for arn in ecs.list_task_definitions(familyPrefix=fam, status="ACTIVE")["taskDefinitionArns"]:
            definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            keys = ("containerDefinitions", "taskRoleArn", "executionRoleArn", "cpu", "memory", "revision")
            active.append({k: definition.get(k) for k in keys})
        if active:
            out[f"task definitions {fam} (active)"] = active
    prefix = ecs_target.ssm_prefix(stage.name)
    for param in ssm.get_parameters_by_path(Path=prefix, Recursive=True)["Parameters"]:
        out[f"ssm parameter {param['Name']}"] = {"Value": param["Value"], "Version": param["Version"]}
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"shop-{stage.name}-ecs"]}])
    for group in groups["SecurityGroups"]:
        out[f"security group {group['GroupName']}"] = {
            "GroupId": group["GroupId"], "IpPermissions": group["IpPermissions"], "Description": group["Description"]
        }  # fmt: skip
    return out | _roles(roles) | _log_group(f"/ecs/shop-{stage.name}") | _repository(stage.name)


def _repository(stage_name: str) -> dict[str, Any]:
    ecr = clients.client("ecr")
    found = _ignore_missing(lambda: ecr.describe_repositories(repositoryNames=[f"shop-{stage_name}"]))
    return {
        f"ecr repository {r['repositoryName']}": {
            "uri": r["repositoryUri"], "scan": r.get("imageScanningConfiguration"), "createdAt": str(r.get("createdAt"))
        }
        for r in (found or {}).get("repositories", [])
    }  # fmt: skip


def _eks_resources(stage_name: str) -> dict[str, Any]:
    stage = get_stage(stage_name)
    roles = [f"{k8s.resource_name(stage, s)}-eks-pod" for s in k8s.eks_services(stage)]
    out = _roles(roles) | _repository(stage.name)
    deployment = state.load(eks_target.deployment_name(stage))
    manifest = Path(deployment.resources.manifests) if deployment else None
    if manifest is not None and manifest.exists():
        out["kubernetes manifests"] = manifest.read_text()
    return out


def describe(stage_name: str, target: str) -> dict[str, Any]:
    """Every resource of the deployment in the local AWS (keys say what it is), plus its local processes."""
    name = f"{stage_name}-{target}"
    tables = rollout.recorded_tables(state.load(name), name)
    found = _tables(tables) | {
        "lambda": _lambda_resources, "ecs": _ecs_resources, "eks": _eks_resources
    }[target](stage_name)  # fmt: skip
    deployment = state.load(name)
    if deployment is not None:
        found["local processes"] = [
            {"name": p.name, "pid": p.pid, "port": p.port} for p in sorted(deployment.processes, key=lambda p: p.name)
        ]
    return found


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in VOLATILE_TEXT:
            value = pattern.sub(replacement, value)
        return value
    return value


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(f"{where}: appeared")
            elif key not in after:
                out.append(f"{where}: disappeared")
            else:
                out += differences(before[key], after[key], where)
        return out
    if before != after:
        text = f"{path}: {json.dumps(before, default=str)[:80]} -> {json.dumps(after, default=str)[:80]}"
        return [text]
    return []


# --- local processes ------------------------------------------------------------------------------------


def _children(pids: set[int]) -> set[int]:
    """The pids and all their descendants (Linux /proc; elsewhere just the pids)."""
    proc = Path("/proc")
    if not proc.exists():
        return set(pids)
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(pids), set(pids)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        state_letter = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):  # no /proc here, or it has just exited
        return not Path("/proc").exists()
    return state_letter != "Z"  # a zombie has exited, only its parent has not collected it


def processes_of(name: str) -> set[int]:
    deployment = state.load(name)
    return _children({p.pid for p in deployment.processes}) if deployment else set()


def stray_processes(name: str) -> list[str]:
    """Processes on this machine that belong to deployment `name` — by their command line or their
    environment (its run folder, its SSM prefix, its tables, its function names) — whether or not a state
    file records them: ECS tasks and EKS pods run in sessions of their own, so stopping their supervisor
    without its cooperation would leave them running."""
    proc = Path("/proc")
    if not proc.exists():
        return []
    tables = TableNames.for_deployment(name)
    markers = [
        str(manifest_dir(name)).encode(),
        f"SSM_PREFIX=/shop/{name}\0".encode(),
        f"={tables.users}\0".encode(),
        f"={tables.orders}\0".encode(),
    ]
    stage, target = name.rsplit("-", 1)
    if target == "lambda":
        the_stage = get_stage(stage)
        markers += [f"--function-name\0{lambda_target.function_name(the_stage, s)}\0".encode()
                    for s in lambda_target.lambda_services(the_stage)]  # fmt: skip
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes() + b"\0"
            environ = (entry / "environ").read_bytes() + b"\0"
        except OSError:
            continue
        ours = cmdline.startswith(sys.executable.encode() + b"\0") and _same_run_dir(environ)
        if ours and any(m in cmdline or m in environ for m in markers) and _alive(int(entry.name)):
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")[:100].strip()
            found.append(f"pid {entry.name}: {shown}")
    return found


def _same_run_dir(environ: bytes) -> bool:
    """Started with this run's run directory (another checkout's deployment may use the same names)."""
    prefix = b"SHOP_RUN_DIR="
    entries = environ.split(b"\0")
    theirs = next((e[len(prefix) :].decode(errors="replace") for e in entries if e.startswith(prefix)), None)
    return theirs == os.environ.get("SHOP_RUN_DIR")


# --- the check --------------------------------------------------------------------------------------------


def _options(target: str, port: int, **extra: Any) -> Any:
    return DEPLOY_TARGETS[target].Options(env="local", port=port, quiet=True, **extra)


def _store(url: str) -> dict[str, Any]:
    with httpclient.client(base_url=url, timeout=30) as client:
        user = client.post("/users", json={"name": "Kept", "email": "kept@example.com"})
        user.raise_for_status()
        order = client.post("/orders", json={"user_id": user.json()["id"], "product": "Mug", "quantity": 1})
        order.raise_for_status()
        return {"user": user.json(), "order": order.json()}


def _data_kept(result: Result, url: str, data: dict[str, Any], when: str) -> None:
    result.tried += 1
    try:
        with httpclient.client(base_url=url, timeout=30) as client:
            user = client.get(f"/users/{data['user']['id']}")
            order = client.get(f"/orders/{data['order']['id']}")
    except httpx.HTTPError as error:
        result.fail(f"{when}: the deployment does not answer: {type(error).__name__}")
        return
    if user.status_code != 200 or user.json() != data["user"]:
        result.fail(f"{when}: the stored user is gone or changed ({user.status_code})")
    if order.status_code != 200 or order.json() != data["order"]:
        result.fail(f"{when}: the stored order is gone or changed ({order.status_code})")


def _processes_gone(result: Result, name: str, pids: set[int], when: str) -> None:
    result.tried += 1
    alive = sorted(pid for pid in pids if _alive(pid))
    if alive:
        result.fail(f"{when}: processes still running: {alive}")
    stray = stray_processes(name)
    if stray:
        result.fail(f"{when}: processes of the deployment still running: {stray[0]}" +
                    (f" (+{len(stray) - 1})" if len(stray) > 1 else ""))  # fmt: skip


def interrupted_deploy(stage: str, target: str, port: int) -> tuple[bool, str]:
    """`python -m shopctl deploy` stopped by SIGINT just as it starts the local processes (the cloud
    resources are there, the first process is coming up). Returns (interrupted, last line seen)."""
    aws = current_aws()
    argv = [sys.executable, "-m", "shopctl", "deploy", "--stage", stage, "--target", target, "--env", "local",
            "--aws-port", str(aws.port), "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # A shell's background job (`make verify &`, some CI runners) starts with SIGINT ignored, and a child
        # inherits that: give the deploy a terminal's default, as Ctrl-C would find it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        last = line.strip()
        if line.startswith(INTERRUPT_AFTER[target]):
            time.sleep(INTERRUPT_DELAY_S)  # let it get into starting the processes
            proc.send_signal(signal.SIGINT)
            break
    try:
        proc.communicate(timeout=SUBPROCESS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("the interrupted deploy did not exit within the timeout") from None
    return proc.returncode != 0, last


def drift_and_repair(result: Result, stage: str, port: int) -> None:
    """Change every function's description behind the deploy's back; the next deploy must put it back."""
    client = clients.client("lambda")
    the_stage = get_stage(stage)
    names = [lambda_target.function_name(the_stage, s) for s in lambda_target.lambda_services(the_stage)]
    wanted = {name: client.get_function_configuration(FunctionName=name)["Description"] for name in names}
    for name in names:
        client.update_function_configuration(FunctionName=name, Description="changed by hand")
    lambda_target.deploy(the_stage, _options("lambda", port))
    result.tried += 1
    for name in names:
        now = client.get_function_configuration(FunctionName=name)["Description"]
        if now != wanted[name]:
            result.fail(f"deploy did not repair the drifted configuration of {name}: {now!r}")


def run(stage: str, target: str, *, reduced: bool) -> list[Result]:
    result = Result(CHECK, stage, target)
    module = DEPLOY_TARGETS[target]
    name = f"{stage}-{target}"
    port = free_port()
    started = time.monotonic()
    try:
        deployment = module.deploy(get_stage(stage), _options(target, port))
        data = _store(deployment.url)
        first = describe(stage, target)

        # 2. deploying twice changes nothing
        module.deploy(get_stage(stage), _options(target, port))
        second = describe(stage, target)
        result.tried += 1
        for line in differences(first, second):
            result.fail(f"second deploy changed {line}")
        _data_kept(result, deployment.url, data, "after the second deploy")

        # 3. a new version keeps the data (Lambda: the code cannot change here, so the configuration
        # drifts out of band and the deploy must update the function back — a real update, new environments)
        if target in ("ecs", "eks"):
            module.deploy(get_stage(stage), _options(target, port, image_tag="v2"))
            _data_kept(result, deployment.url, data, "after deploying a new image tag")
        else:
            drift_and_repair(result, stage, port)
            _data_kept(result, deployment.url, data, "after a deploy that updated the function")

        # 4. destroy, keeping the data
        pids = processes_of(name)
        registry.destroy(module, get_stage(stage), _options(target, port), keep_data=True)
        result.tried += 1
        left = sorted(set(describe(stage, target)) - {k for k in first if k.startswith("table ")})
        if left:
            result.fail(f"destroy (data kept) left {left[0]}" + (f" (+{len(left) - 1})" if len(left) > 1 else ""))
        _processes_gone(result, name, pids, "destroy")

        # 5. Ctrl-C mid-deploy, then deploy again
        interrupted, last = interrupted_deploy(stage, target, port)
        result.figures["interrupted"] = 1.0 if interrupted else 0.0
        if not interrupted:
            result.notes.append(f"the deploy finished before SIGINT arrived (last line: {last}); rerun still checked")
        deployment = module.deploy(get_stage(stage), _options(target, port))
        result.tried += 1
        rerun = describe(stage, target)
        for line in differences(normalise(first), normalise(rerun)):
            result.fail(f"deploy after Ctrl-C differs from a clean one: {line}")
        _data_kept(result, deployment.url, data, "after Ctrl-C and a new deploy")

        # 6. destroy everything
        pids = processes_of(name)
        registry.destroy(module, get_stage(stage), _options(target, port), keep_data=False)
        result.tried += 1
        left = describe(stage, target)
        if left:
            result.fail(f"destroy left {sorted(left)[0]}" + (f" (+{len(left) - 1})" if len(left) > 1 else ""))
        _processes_gone(result, name, pids, "destroy with data")
        result.figures["resources"] = float(len(first))
    finally:
        if state.load(name) is not None:  # a failure above must not leave the deployment running
            registry.destroy(module, get_stage(stage), _options(target, port), keep_data=False)
    result.figures["seconds"] = round(time.monotonic() - started, 1)
    return [result]
