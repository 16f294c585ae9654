"""TARGET=lambda: deploy a stage as AWS Lambda function(s) behind Function URLs.

One code path for ENV=local and ENV=aws. Both make the same boto3 calls (tables, IAM role, S3 artifact,
function, Function URL, log group); ENV=local only differs in where boto3 points (the local AWS) and in
who runs the function: the local Lambda service (`shopctl.lambda_local`) on this machine.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from shopctl.aws import iam, resources, state
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.local.process import base_environ
from shopctl.stages import Service, Stage, get_stage
from shopctl.targets import artifacts, common
from shopctl.targets.package import Package, Platform, build

TARGET = "lambda"
MEMORY_MB = 512  # CPU scales with memory; 512 MB keeps a FastAPI cold start reasonable
TIMEOUT_S = 15
LOG_RETENTION_DAYS = 14


@dataclass(frozen=True)
class Options:
    env: str = "local"  # "local" | "aws"
    port: int | None = None  # local base URL port
    auth: str | None = None  # Function URL AuthType; default NONE locally, AWS_IAM on AWS
    python: str = "3.12"  # the function's runtime on AWS
    architecture: str = "x86_64"
    idle_timeout: int = 300  # local Lambda: keep an idle environment warm this long
    max_concurrency: int = 10  # local Lambda: environments at most
    quiet: bool = False
    tables: resources.TableNames | None = None  # share tables with another deployment (the mixed one)
    optimize: bool = False  # the package tuned for cold starts (shopctl.targets.package: bytecode, stripped SDK data)
    snapstart: bool = False  # local Lambda only, for now: SnapStart's lifecycle (snapshot, then restores)
    package: str = "zip"  # "image": the stage's container image behind the Lambda Web Adapter (local only, for now)

    @property
    def auth_type(self) -> str:
        return self.auth or ("AWS_IAM" if self.env == "aws" else "NONE")

    def platform(self) -> Platform:
        # Build for the interpreter that will import the package: here, this machine's Python.
        return Platform.aws(self.python, self.architecture) if self.env == "aws" else Platform.local()


def public_url_warning(options: Options) -> str | None:
    """What `make deploy` prints before making a public Function URL on AWS (None: nothing to warn of).
    Public takes an explicit AUTH=NONE; the default on AWS is AWS_IAM."""
    if options.env == "aws" and options.auth_type == "NONE":
        return "WARNING: the Function URL will be PUBLIC (auth NONE): anyone with the URL can call it."
    return None


def deployment_name(stage: str) -> str:
    return f"{stage}-{TARGET}"


def function_name(stage: Stage, service: Service) -> str:
    return common.resource_name(stage, service)


def lambda_services(stage: Stage) -> list[Service]:
    return [s for s in stage.app_services() if s.handler]


def plan(stage: Stage, options: Options) -> list[str]:
    tables = resources.TableNames.for_deployment(deployment_name(stage.name))
    lines = [f"DynamoDB tables {tables.users}, {tables.orders} (on-demand)"]
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        lines += [
            f"IAM role {fn}-role (DynamoDB on its tables only, logs on its log group only)",
            f"Lambda function {fn} ({options.platform().runtime}, {options.architecture}, {MEMORY_MB} MB, "
            f"handler {service.handler}{', optimised package' if options.optimize else ''})",
            f"Function URL for {fn} (auth {options.auth_type}), log group /aws/lambda/{fn}",
        ]
    lines.append("S3 bucket shop-lambda-artifacts-<account>-<region> for the packages")
    return lines


@dataclass(frozen=True)
class Function:
    """One function to deploy: a stage's service, or the cold-start floor `make compare` measures them by."""

    name: str
    handler: str
    description: str
    package: Package
    statements: list[dict[str, Any]]  # its execution role's policy: exact resources, no wildcards
    environment: dict[str, str]
    # The function, its role and its log group carry them (the project only by default: the compare floor).
    tags: Tags = field(default_factory=Tags)


def _ensure_function(
    function: Function, role_arn: str, bucket: str, key: str, sha: str, options: Options
) -> str:
    """Create the function, or update only what changed. Returns "created", "updated" or "unchanged"."""
    name = function.name
    client = boto3.client("lambda")
    config: dict[str, Any] = {
        "Role": role_arn,
        "Handler": function.handler,
        "Runtime": options.platform().runtime,
        "MemorySize": MEMORY_MB,
        "Timeout": TIMEOUT_S,
        "Environment": {"Variables": function.environment},
        "Description": function.description,
    }
    try:
        current = client.get_function_configuration(FunctionName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        iam.retry_while_role_propagates(
            lambda: client.create_function(
                FunctionName=name,
                Code={"S3Bucket": bucket, "S3Key": key},
                PackageType="Zip",
                Architectures=[options.architecture],
                Tags=function.tags.as_dict(),
                **config,
            )
        )
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        return "created"
    if current.get("PackageType") == "Image":  # Lambda cannot change a function's package type
        raise ShopctlError(f"{name} is an image function", "run `make destroy` first, then deploy it as a ZIP")
    changed = False
    if current["CodeSha256"] != sha:
        client.update_function_code(FunctionName=name, S3Bucket=bucket, S3Key=key)
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    current_config = {
        "Role": current["Role"],
        "Handler": current["Handler"],
        "Runtime": current["Runtime"],
        "MemorySize": current["MemorySize"],
        "Timeout": current["Timeout"],
        "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
        "Description": current.get("Description", ""),
    }
    if current_config != config:
        iam.retry_while_role_propagates(
            lambda: client.update_function_configuration(FunctionName=name, **config)
        )
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    return "updated" if changed else "unchanged"


def _execution_role_and_logs(fn: str, statements: list[dict[str, Any]], tags: Tags, say: Callable[[str], None]) -> str:
    """The function's execution role (its own statements plus writing to its own log group) and that log
    group, whatever the package type. Returns the role's ARN."""
    statements = [*statements, iam.lambda_logs_statement(fn)]
    role_arn, role_created = iam.ensure_role(
        f"{fn}-role", iam.LAMBDA_TRUST, iam.policy(statements), f"Execution role of {fn}", tags
    )
    actions = sum(len(s["Action"]) for s in statements)
    arns = sum(len(s["Resource"]) for s in statements)
    verb = "created" if role_created else "policy refreshed"
    say(f"✓ IAM role {fn}-role ({verb}): {actions} actions on {arns} resources, no wildcards")
    common.ensure_log_group(f"/aws/lambda/{fn}", LOG_RETENTION_DAYS, tags=tags)
    return role_arn


def _ensure_function_url(name: str, auth_type: str) -> str:
    client = boto3.client("lambda")
    try:
        url = client.get_function_url_config(FunctionName=name)
        if url["AuthType"] != auth_type:
            url = client.update_function_url_config(FunctionName=name, AuthType=auth_type)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        url = client.create_function_url_config(FunctionName=name, AuthType=auth_type)
    if auth_type == "NONE":
        # A public URL needs both permissions in the function's resource policy (since October 2025).
        # Added only when missing: AWS refuses a second statement with the same Sid, but not every
        # emulator does (moto appends it), and a re-deploy must leave the policy exactly as it was.
        present = _statement_ids(client, name)
        for sid, extra in (
            (
                "FunctionURLAllowPublicAccess",
                {"Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "NONE"},
            ),
            (
                "FunctionURLInvokeAllowPublicAccess",
                {"Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": True},
            ),
        ):
            if sid in present:
                continue
            try:
                client.add_permission(FunctionName=name, StatementId=sid, Principal="*", **extra)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceConflictException":
                    raise
    return url["FunctionUrl"]


def _statement_ids(client: Any, name: str) -> set[str]:
    try:
        policy = json.loads(client.get_policy(FunctionName=name)["Policy"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return set()
    return {statement.get("Sid", "") for statement in policy.get("Statement", [])}


def _local_lambda(
    deployment: state.DeploymentState, fn: str, port: int | None, options: Options
) -> state.LocalProcess:
    """Make sure the local Lambda service runs `fn`; a running one picks up new code and config itself."""
    argv = common.python_module(
        "shopctl.lambda_local",
        "--function-name",
        fn,
        "--port",
        "{port}",
        "--idle-timeout",
        str(options.idle_timeout),
        "--max-concurrency",
        str(options.max_concurrency),
        *(["--snapstart"] if options.snapstart else []),
    )
    return common.local_process(
        deployment,
        fn,
        argv,
        base_environ(deployment.stage, {}),
        port=port,
        ready_path="/__lambda_local__/status",
        what=f"the local Lambda for {fn}",
    )


def ensure_function(function: Function, bucket: str, options: Options, say: Callable[[str], None]) -> str:
    """Package upload, execution role (its statements + logs on its own log group), log group, function and
    Function URL — created, or updated where they differ. Returns the Function URL."""
    fn = function.name
    sha = artifacts.code_sha256(function.package.data)
    _, key = artifacts.upload(fn, function.package.data)
    role_arn = _execution_role_and_logs(fn, function.statements, function.tags, say)
    outcome = _ensure_function(function, role_arn, bucket, key, sha, options)
    function_url = _ensure_function_url(fn, options.auth_type)
    say(f"✓ function {fn} {outcome} (CodeSha256 {sha[:12]}…), URL auth {options.auth_type}")
    return function_url


# PACKAGE=image: the stage's own container image (the one ECS and EKS run, same command), served through the
# Lambda Web Adapter: it checks the app's /health before the first invocation, on the image's port 8080
# (AWS_LWA_PORT's default), then turns invocations into HTTP requests.
WEB_ADAPTER_ENVIRONMENT = {"AWS_LWA_READINESS_CHECK_PATH": "/health"}


def ensure_image_function(
    stage: Stage,
    service: Service,
    statements: list[dict[str, Any]],
    environment: dict[str, str],
    options: Options,
    say: Callable[[str], None],
) -> str:
    """The image function for `service` (role, log group, function, Function URL). Returns the Function URL."""
    from shopctl.targets.ecs_target import container_command

    fn = function_name(stage, service)
    repository_uri, _ = common.ensure_repository(stage)
    image = common.image_reference(stage, repository_uri, options.env, say)
    tags = Tags(stage.name, TARGET)
    role_arn = _execution_role_and_logs(fn, statements, tags, say)
    client = boto3.client("lambda")
    config: dict[str, Any] = {
        "Role": role_arn,
        "MemorySize": MEMORY_MB,
        "Timeout": TIMEOUT_S,
        "Environment": {"Variables": {**environment, **WEB_ADAPTER_ENVIRONMENT}},
        "ImageConfig": {"Command": container_command(service)},
        "Description": f"Shapeshifting workshop: {service.asgi} (image, Lambda Web Adapter)",
    }
    try:
        current = client.get_function_configuration(FunctionName=fn)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        iam.retry_while_role_propagates(
            lambda: client.create_function(
                FunctionName=fn,
                PackageType="Image",
                Code={"ImageUri": image},
                Architectures=[options.architecture],
                Tags=tags.as_dict(),
                **config,
            )
        )
        client.get_waiter("function_active_v2").wait(FunctionName=fn)
    else:
        if current.get("PackageType") != "Image":  # Lambda cannot change a function's package type
            raise ShopctlError(f"{fn} is a ZIP function", "run `make destroy` first, then deploy with PACKAGE=image")
        client.update_function_code(FunctionName=fn, ImageUri=image)
        client.get_waiter("function_updated_v2").wait(FunctionName=fn)
        client.update_function_configuration(FunctionName=fn, **config)
        client.get_waiter("function_updated_v2").wait(FunctionName=fn)
    function_url = _ensure_function_url(fn, options.auth_type)
    say(f"✓ function {fn} from image {image.rsplit('/', 1)[-1]} (Lambda Web Adapter), URL auth {options.auth_type}")
    return function_url


def deploy(stage_name: str, options: Options) -> state.DeploymentState:
    if (options.snapstart or options.package == "image") and options.env == "aws":
        what = "SnapStart" if options.snapstart else "PACKAGE=image"
        raise ShopctlError(f"{what} is not deployed to AWS yet", "use it with ENV=local (the local Lambda)")
    rollout = common.begin(stage_name, TARGET, env=options.env, tables=options.tables, quiet=options.quiet)
    stage, deployment, tables, say = rollout.stage, rollout.deployment, rollout.tables, rollout.say
    bucket = artifacts.ensure_bucket()

    urls: dict[str, str] = {}
    functions: list[str] = []
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        functions.append(fn)
        environment = {"RUNTIME": "LAMBDA", **common.table_env(service, tables)}
        environment.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
        statements = [*iam.dynamodb_statements(stage.name, common.table_kinds(service, tables))]
        if options.package == "image":
            function_url = ensure_image_function(stage, service, statements, environment, options, say)
        else:
            function = Function(
                fn,
                service.handler or "",
                f"Shapeshifting workshop: {service.asgi}",
                build(stage, service, options.platform(), quiet=options.quiet, optimize=options.optimize),
                statements,
                environment,
                Tags(stage.name, TARGET),
            )
            function_url = ensure_function(function, bucket, options, say)
        if options.env == "local":
            # The stage's entry function gets the base URL port; internal ones keep the port they had.
            proc = _local_lambda(deployment, fn, rollout.entry_port(service, options.port), options)
            deployment.set_process(proc)
            urls[service.name] = proc.url
            say(f"✓ local Lambda for {fn} serving {proc.url} (stands in for {function_url})")
        else:
            urls[service.name] = function_url.rstrip("/")

    if options.env == "local":
        base_url = common.entry_url(rollout, urls, options.port, "LAMBDA")
    elif stage.entry in urls:
        base_url = urls[stage.entry]
    else:
        base_url = urls["users"]
        say(
            "  note: on AWS the microservices get one URL each; put an API Gateway HTTP API or ALB in front "
            "(routes /users* and /orders*) for a single base URL — see docs/deploy.md 'Deploy to Lambda'."
        )
    created = state.DeploymentResources(
        functions=functions,
        roles=[f"{fn}-role" for fn in functions],
        log_groups=[f"/aws/lambda/{fn}" for fn in functions],
        service_urls=urls,
        artifact_bucket=bucket,
        # the image's repository is shared with ECS/EKS: destroy keeps it while they run
        image_repository=f"shop-{stage.name}" if options.package == "image" else "",
    )
    return rollout.finish(base_url, created)


def destroy(stage_name: str, options: Options, *, keep_data: bool = True) -> list[str]:
    """Remove what deploy created (tables only when keep_data is False). Returns what was removed."""
    stage = get_stage(stage_name)
    name = deployment_name(stage.name)
    deployment = state.load(name)
    removed: list[str] = common.stop_processes(deployment)
    if deployment is None:
        bucket: str | None = artifacts.bucket_for_this_account()
    else:
        bucket = deployment.resources.artifact_bucket or None
    for service in lambda_services(stage):
        removed += remove_function(function_name(stage, service), bucket)
    image = deployment is not None and bool(deployment.resources.image_repository)
    if image and common.delete_repository_unless_used(stage, deleting="lambda"):
        removed.append(f"ECR repository shop-{stage.name}")
    if bucket and artifacts.delete_bucket_if_empty(bucket):
        removed.append(f"S3 bucket {bucket} (no package of any stage left in it)")
    if not keep_data:
        tables = common.recorded_tables(deployment, name)
        removed += [f"table {t}" for t in resources.delete_tables(tables)]
    state.remove(name)
    return common.report_removed(removed, keep_data=keep_data, quiet=options.quiet)


def remove_function(fn: str, bucket: str | None) -> list[str]:
    """Remove what ensure_function created for `fn` (each part only if there). Returns what was removed."""
    client = boto3.client("lambda")
    removed = []
    with contextlib.suppress(ClientError):
        client.delete_function_url_config(FunctionName=fn)
    try:
        client.delete_function(FunctionName=fn)
        removed.append(f"function {fn}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    if iam.delete_role(f"{fn}-role"):
        removed.append(f"role {fn}-role")
    if common.delete_log_group(f"/aws/lambda/{fn}"):
        removed.append(f"log group /aws/lambda/{fn}")
    if bucket:
        s3 = boto3.client("s3")
        try:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{fn}/").get("Contents", [])
        except ClientError:
            listed = []
        for obj in listed:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        if listed:
            removed.append(f"{len(listed)} package(s) s3://{bucket}/{fn}/")
    return removed


def describe(stage_name: str) -> dict[str, Any]:
    """The function configurations as AWS reports them (tests and `make status` use it)."""
    stage = get_stage(stage_name)
    client = boto3.client("lambda")
    out = {}
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        out[fn] = client.get_function_configuration(FunctionName=fn)
    return json.loads(json.dumps(out, default=str))
