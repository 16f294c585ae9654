"""`make doctor [ENV=aws] [TARGET=…]`: what a deploy needs, checked before anything is created — one line per
check, and a hint for each one that fails. `make deploy ENV=aws` runs the checks its target needs first and
stops on a failure, so a missing tool or quota shows up before the first billed resource, not after it.

Locally: Python, the virtualenv, the ports the workshop serves on, the local AWS. With ENV=aws: credentials
and region, the tools a target drives (the AWS CLI and kubectl for EKS, Docker with buildx for the image),
the default VPC and its Availability Zones, the ECS service-linked role, and the quotas a deploy takes from
(Lambda's unreserved concurrency, Fargate's vCPUs).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from shopctl.aws import clients
from shopctl.aws import image as images
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.local.net import port_in_use
from shopctl.paths import REPO_ROOT
from shopctl.stages import STAGES
from shopctl.targets import naming
from shopctl.targets.registry import TARGETS

ALL = frozenset(TARGETS)
# What one deploy of every stage takes from the account's quotas (the plans' sizes): Fargate vCPUs for the ECS
# services (0.25 vCPU per task, 2 tasks per service), and unreserved Lambda concurrency AWS keeps for itself.
FARGATE_VCPU_NEEDED = 0.25 * 2 * sum(len(stage.app_services()) for stage in STAGES.values())
LAMBDA_UNRESERVED_MINIMUM = 100  # Lambda refuses reservations that leave less than this unreserved
FARGATE_VCPU_QUOTA = ("fargate", "L-3032A538")  # "Fargate On-Demand vCPU resource count"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""
    needed_by: frozenset[str] = field(default=ALL)  # the targets that need it (all: a deploy of any)
    warning: bool = False  # worth reading, but no reason to stop

    def line(self) -> str:
        mark = "✓" if self.ok else ("!" if self.warning else "✗")
        for_whom = "" if self.needed_by == ALL else f" (TARGET={'/'.join(sorted(self.needed_by))})"
        text = f"{mark} {self.name:<22} {self.detail}{for_whom}"
        return text + (f"\n    hint: {self.hint}" if not self.ok and self.hint else "")

    @property
    def blocks(self) -> bool:
        return not self.ok and not self.warning


def _tool(name: str, argv: list[str], hint: str, needed_by: frozenset[str]) -> Check:
    if shutil.which(argv[0]) is None:
        return Check(name, False, "not found on PATH", hint, needed_by)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check(name, False, f"`{' '.join(argv)}` did not answer ({error})", hint, needed_by)
    version = (result.stdout or result.stderr).strip().splitlines()[:1]
    return Check(name, result.returncode == 0, version[0] if version else "found", hint, needed_by)


# --- this machine ----------------------------------------------------------------------------------------


def python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", sys.version_info >= (3, 11), version, "install Python 3.11 or later (with venv)")


def packages() -> Check:
    wanted = ["fastapi", "mangum", "boto3", "moto", "uvicorn", "httpx"]
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    detail = f"missing: {', '.join(missing)}" if missing else f"{', '.join(wanted)} importable ({sys.prefix})"
    return Check("workshop packages", not missing, detail, "make venv (installs lock/workshop.txt)")


def ports(aws_port: int) -> Check:
    """The local AWS's port may be taken by the local AWS itself; the stable deployment ports by anything."""
    taken = [port for port in (8000, *_deployment_ports()) if port_in_use(port)]
    aws_ours = localaws.status(aws_port) is not None
    if port_in_use(aws_port) and not aws_ours:
        taken.insert(0, aws_port)
    detail = f"in use: {', '.join(map(str, taken))}" if taken else f"{aws_port}, 8000 and 9101-9303 free"
    return Check(
        "ports",
        not taken,
        detail,
        "a running deployment holds its port (make status; make destroy-all), or free it / pick another "
        "(LOCAL_AWS_PORT=…, PORT=…, DEPLOY_PORT=…)",
        warning=True,  # a running deployment of the workshop's own holds its port: not a reason to stop
    )


def _deployment_ports() -> list[int]:
    return [naming.default_port(t.PORT_BASE, s) for t in TARGETS.values() for s in naming.STAGE_PORT_OFFSET]


def local_aws(aws_port: int) -> Check:
    running = localaws.status(aws_port)
    if running is not None:
        return Check("local AWS", True, f"running at {running.endpoint}")
    if port_in_use(aws_port):
        return Check("local AWS", False, f"port {aws_port} is taken by something else", "LOCAL_AWS_PORT=<free port>")
    return Check("local AWS", True, f"not running; starts on demand on port {aws_port} (make local-aws)")


def disk() -> Check:
    free_gb = shutil.disk_usage(REPO_ROOT).free / 1e9
    return Check("disk", free_gb >= 2, f"{free_gb:.1f} GB free", "the Lambda packages and code cache take ~1 GB")


def local_checks(aws_port: int) -> list[Check]:
    return [python(), packages(), ports(aws_port), local_aws(aws_port), disk()]


# --- an AWS account --------------------------------------------------------------------------------------


def _call(what: str, call: Callable[[], Check], needed_by: frozenset[str] = ALL) -> Check:
    """A check that reads the account: one it cannot read (no permission, an API the region lacks) is worth
    reading but does not stop a deploy — the deploy itself names what AWS refuses."""
    try:
        return call()
    except (BotoCoreError, ClientError) as error:
        hint = "the deployer may lack read access to it; the deploy says what AWS refuses"
        return Check(what, False, f"could not check: {error}", hint, needed_by, warning=True)


def credentials() -> Check:
    try:
        identity = clients.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return Check("credentials", False, str(error), "configure them (aws configure / AWS_PROFILE / SSO)")
    return Check("credentials", True, f"account {identity['Account']} as {identity['Arn']}")


def region() -> Check:
    name = clients.region()
    return Check("region", bool(name), name or "not set", "set AWS_REGION, e.g. AWS_REGION=us-east-1")


def default_vpc() -> Check:
    def check() -> Check:
        ec2 = clients.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            return Check("default VPC", False, "none in this region", "aws ec2 create-default-vpc", _CONTAINERS)
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]
        zones = sorted({s["AvailabilityZone"] for s in subnets})
        return Check(
            "default VPC",
            len(zones) >= 2,
            f"{vpcs[0]['VpcId']}, subnets in {len(zones)} Availability Zones ({', '.join(zones)})",
            "a load balancer and an EKS cluster need subnets in two Availability Zones",
            _CONTAINERS,
        )

    return _call("default VPC", check, _CONTAINERS)


def ecs_service_linked_role() -> Check:
    def check() -> Check:
        try:
            clients.client("iam").get_role(RoleName="AWSServiceRoleForECS")
            return Check("ECS service role", True, "AWSServiceRoleForECS exists", needed_by=frozenset({"ecs"}))
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchEntity":
                raise
        return Check(
            "ECS service role",
            False,
            "AWSServiceRoleForECS missing (a fresh account's first ECS cluster can fail without it)",
            "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com",
            frozenset({"ecs"}),
            warning=True,
        )

    return _call("ECS service role", check, frozenset({"ecs"}))


def lambda_concurrency() -> Check:
    def check() -> Check:
        settings = clients.client("lambda").get_account_settings()["AccountLimit"]
        unreserved = settings.get("UnreservedConcurrentExecutions", 0)
        return Check(
            "Lambda concurrency",
            unreserved > LAMBDA_UNRESERVED_MINIMUM,
            f"{unreserved} unreserved of {settings.get('ConcurrentExecutions', '?')}",
            "a new account may start with 10: ask for more in Service Quotas (AWS Lambda, Concurrent executions)",
            frozenset({"lambda"}),
            warning=True,  # functions still deploy; only a public URL's reserved cap would be refused
        )

    return _call("Lambda concurrency", check, frozenset({"lambda"}))


def fargate_vcpu() -> Check:
    def check() -> Check:
        service, code = FARGATE_VCPU_QUOTA
        quota = clients.client("service-quotas").get_service_quota(ServiceCode=service, QuotaCode=code)
        value = float(quota["Quota"]["Value"])
        return Check(
            "Fargate vCPU",
            value >= FARGATE_VCPU_NEEDED,
            f"quota {value:g} vCPU; all three stages on ECS take {FARGATE_VCPU_NEEDED:g}",
            "ask for more in Service Quotas (AWS Fargate, Fargate On-Demand vCPU resource count)",
            frozenset({"ecs"}),
        )

    return _call("Fargate vCPU", check, frozenset({"ecs"}))


_CONTAINERS = frozenset({"ecs", "eks"})


def tools(target: str | None = None) -> list[Check]:
    """The tools a deploy drives: Docker for the image, and for EKS kubectl and the AWS CLI (only asked when the
    deploy is to EKS, or for every target: each tool may take seconds to answer)."""
    engine = images.engine_reachable()
    docker = Check(
        "docker",
        engine and images.has_buildx(),
        "engine and buildx reachable" if engine else "no engine reachable (or no docker CLI)",
        "install Docker with buildx: ECS, EKS and PACKAGE=image deploy the stage's image (Lambda ZIPs do not)",
        frozenset({"ecs", "eks", "lambda"}),
        warning=True,  # ECR may already hold the image; deploy says so at the image step
    )
    if target not in (None, "eks"):
        return [docker]
    return [
        docker,
        _tool("kubectl", ["kubectl", "version", "--client"], "install kubectl (EKS applies manifests with it)",
              frozenset({"eks"})),
        _tool("aws CLI", ["aws", "--version"],
              "install the AWS CLI v2: EKS's kubeconfig runs `aws eks get-token` for every kubectl call",
              frozenset({"eks"})),
    ]


def aws_checks(target: str | None = None) -> list[Check]:
    first = [credentials(), region()]
    if not all(check.ok for check in first):
        return first  # nothing else can be asked without them
    return [*first, *tools(target), default_vpc(), ecs_service_linked_role(), lambda_concurrency(), fargate_vcpu()]


def run(env: str, *, aws_port: int, target: str | None = None) -> list[Check]:
    """The checks for `env` (for one target's deploy, only those it needs), printed one line each."""
    checks = local_checks(aws_port) if env == "local" else aws_checks(target)
    return [check for check in checks if target is None or target in check.needed_by]


def report(checks: list[Check]) -> bool:
    for check in checks:
        print(check.line())
    blocking = [check for check in checks if check.blocks]
    if blocking:
        print(f"✗ {len(blocking)} check(s) failed: {', '.join(c.name for c in blocking)}")
    else:
        warned = sum(1 for check in checks if not check.ok)
        print(f"✓ {len(checks)} checks passed" + (f" ({warned} to read above)" if warned else ""))
    return not blocking


def require(env: str, *, aws_port: int, target: str) -> None:
    """Before a deploy: the checks its target needs, or one line naming what failed."""
    checks = run(env, aws_port=aws_port, target=target)
    if not report(checks):
        names = ", ".join(check.name for check in checks if check.blocks)
        raise ShopctlError(f"not ready to deploy to {target} ({names})", "fix what the ✗ lines say, then deploy again")
