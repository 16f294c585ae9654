"""TARGET=lambda: deploy a stage as AWS Lambda function(s) behind Function URLs.

One code path for ENV=local and ENV=aws. Both make the same boto3 calls (tables, IAM role, S3 artifact,
function, Function URL, log group); ENV=local only differs in where boto3 points (the local AWS) and in
who runs the function: the local Lambda service (`shopctl.lambda_local`) on this machine.

A stage of several functions (the microservices) gets one base URL: an API Gateway HTTP API in front of
them (`http_api`), whose URL is the deployment's on AWS; locally the stage's gateway process carries the
traffic and the local AWS keeps the API's records. With AUTH=AWS_IAM a function that calls another signs
its requests (USERS_AUTH=AWS_IAM), and its role may invoke exactly that function's URL.

Three modes, each the same calls on both: a ZIP package (plain or OPTIMIZE=1); SNAPSTART=1 (SnapStart on
published versions: publish a version, wait until it is active — on AWS, when the snapshot is taken — and
serve it through the alias `live`, the Function URL on the alias); PACKAGE=image (the stage's container
image, the one ECS and EKS run, behind the Lambda Web Adapter extension the image carries).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any

from shopctl import lambda_local
from shopctl.aws import artifacts, clients, ecr, iam, prices, resources, state
from shopctl.aws import image as images
from shopctl.aws.tagging import Tags
from shopctl.local.deployment import local_process, python_module, stop_processes
from shopctl.local.process import base_environ
from shopctl.package import build
from shopctl.stages import Service, Stage
from shopctl.targets import http_api, lambda_function, naming, rollout
from shopctl.targets.lambda_function import (
    MEMORY_MB,
    SNAPSTART_ALIAS,
    Code,
    Function,
    Options,
    check,
    create_or_update,
    ensure_function,
    execution_role_and_logs,
    function_config,
    remove_function,
    serve_url,
)

TARGET = "lambda"
LABEL = "Lambda"
PORT_BASE = 9100
def add_arguments(group: Any) -> None:
    group.add_argument(
        "--auth",
        choices=["NONE", "AWS_IAM"],
        default=None,
        help="Function URL auth (default: NONE locally, AWS_IAM on AWS)",
    )
    group.add_argument("--python", default="3.12", help="the function's Python on AWS (ENV=aws)")
    group.add_argument(
        "--optimize",
        action="store_true",
        help="the package tuned for cold starts (precompiled bytecode, unused AWS SDK data out)",
    )
    group.add_argument(
        "--snapstart",
        action="store_true",
        help="SnapStart — init once at publish, cold starts restore the snapshot (alias live)",
    )
    group.add_argument(
        "--package",
        choices=("zip", "image"),
        default="zip",
        help="image = the stage's container image (as ECS/EKS run it) behind the Lambda Web Adapter",
    )


def options(args: argparse.Namespace) -> Options:
    chosen = Options(
        env=args.env, port=args.port, auth=args.auth, python=args.python, optimize=args.optimize,
        snapstart=args.snapstart, package=args.package,
    )
    check(chosen)  # a combination Lambda refuses stops here, before credentials are asked for
    return chosen


def warnings(options: Options) -> list[str]:
    """What `make deploy` prints before making a public Function URL on AWS. Public takes an explicit
    AUTH=NONE; the default on AWS is AWS_IAM."""
    if options.env == "aws" and options.auth_type == "NONE":
        return ["WARNING: the Function URL will be PUBLIC (auth NONE): anyone with the URL can call it."]
    return []


# On AWS the URL is a Function URL (signed for the `lambda` service) or, for the microservices, the HTTP API
# (`execute-api`); with AUTH=AWS_IAM, the default there, an unsigned curl gets 403. curl signs by itself.
AWS_URL = re.compile(r"https://[^.]+\.(?P<service>lambda-url|execute-api)\.(?P<region>[a-z0-9-]+)\.")


def hints(stage: Stage, deployment: state.DeploymentState) -> list[str]:
    tried = [f"try:  curl -s {deployment.url}/health      (the first request is a cold start)"]
    if match := AWS_URL.match(deployment.url or ""):
        service = "lambda" if match["service"] == "lambda-url" else "execute-api"
        tried.append(
            "      with AUTH=AWS_IAM (the default on AWS) sign it: curl -s --aws-sigv4 "
            f'"aws:amz:{match["region"]}:{service}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" '
            f'-H "x-amz-security-token: $AWS_SESSION_TOKEN" {deployment.url}/health'
        )
    return [*tried, f"cold starts: make coldstart STAGE={stage.name} TARGET=lambda N=5"]


def destroy_confirmations(stage: Stage, options: Options) -> list[str]:
    return []


def teardown_options(env: str) -> Options:
    return Options(env=env, quiet=True)


def deployment_name(stage: Stage) -> str:
    return naming.deployment_name(stage, TARGET)


def function_name(stage: Stage, service: Service) -> str:
    return naming.resource_name(stage, service)


def lambda_services(stage: Stage) -> list[Service]:
    return [s for s in stage.app_services() if s.handler]


def api_name(stage: Stage) -> str | None:
    """The HTTP API giving a stage of several functions its one base URL (None: one function, its URL)."""
    return None if stage.entry in {s.name for s in lambda_services(stage)} else f"shop-{stage.name}"


def invoke_url_statement(function_arn: str) -> dict[str, Any]:
    """What a caller's role needs to call a Function URL with AWS_IAM auth: InvokeFunctionUrl on exactly that
    function (its alias with SnapStart), for signed requests only."""
    return {
        "Sid": "InvokeUpstreamUrl",
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunctionUrl"],
        "Resource": [function_arn],
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
    }


def plan(stage: Stage, options: Options) -> list[str]:
    check(options)
    tables = resources.TableNames.for_deployment(deployment_name(stage))
    lines = [f"DynamoDB tables {tables.users}, {tables.orders} (on-demand)"]
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        if options.package == "image":
            command = " ".join(naming.container_command(service))
            package = (
                f"image shop-{stage.name} from ECR (the one ECS/EKS run, command {command}),"
                " served through the Lambda Web Adapter extension"
            )
        else:
            package = f"{options.platform().runtime}, handler {service.handler}"
            package += ", optimised package" if options.optimize else ""
            package += ", SnapStart on published versions" if options.snapstart else ""
        url_on = f"alias {fn}:{SNAPSTART_ALIAS}" if options.snapstart else fn
        lines += [
            f"IAM role {fn}-role (DynamoDB on its tables only, logs on its log group only)",
            f"Lambda function {fn} ({package}, {options.architecture}, {MEMORY_MB} MB)",
        ]
        if options.snapstart:
            lines.append(
                f"published version of {fn} (its snapshot: billed per GB-second cached and per GB restored) "
                f"and alias {SNAPSTART_ALIAS} pointing at it"
            )
        lines.append(f"Function URL for {url_on} (auth {options.auth_type}), log group /aws/lambda/{fn}")
        if service.upstreams and options.auth_type == "AWS_IAM":
            called = ", ".join(function_name(stage, stage.service(up)) for up in service.upstreams)
            lines.append(f"{fn}-role may invoke the Function URL of {called} (signed requests only)")
        if options.env == "aws" and options.auth_type == "NONE":
            lines.append(
                f"reserved concurrency {lambda_function.PUBLIC_URL_CONCURRENCY} for {fn}: a spend cap on the public "
                "URL (at most that many requests at once; Lambda answers 429 beyond)"
            )
    api = api_name(stage)
    if api:
        lines.append(
            f"API Gateway HTTP API {api} (the base URL; auth {options.auth_type}): routes /users*, /orders*, /health,"
            " /docs to the functions (Lambda proxy, payload 2.0), each function invocable by this API only"
        )
    if options.package == "image":
        lines.append(f"ECR repository shop-{stage.name} (shared with ECS/EKS), the image built and pushed if missing")
    lines.append("S3 bucket shop-lambda-artifacts-<account>-<region> for the packages (shared by the stages)")
    return lines


# SnapStart: each published version's snapshot is cached, billed per GB-second of the function's memory.
SNAPSTART_CACHE_GB_SECOND = 0.0000015046


def costs(stage: Stage, options: Options) -> list[prices.Billed]:
    """Nothing by the hour but SnapStart's snapshot cache: invocations, DynamoDB and S3 are billed per request."""
    functions = len(lambda_services(stage))
    items = [
        prices.Billed(f"{functions} Lambda function(s) with Function URL(s)", 1, 0.0,
                      "$0.20 per million requests + $0.0000166667 per GB-second of duration"),
        prices.Billed("DynamoDB on-demand tables, the package in S3, logs", 1, 0.0),
    ]
    if api_name(stage):
        per_million = f"${prices.HTTP_API_MILLION_REQUESTS:.2f} per million requests"
        items.append(prices.Billed("API Gateway HTTP API (the base URL)", 1, 0.0, per_million))
    if options.snapstart:
        per_hour = SNAPSTART_CACHE_GB_SECOND * MEMORY_MB / 1024 * 3600
        items.append(prices.Billed(f"SnapStart snapshot cache of the published version(s), {MEMORY_MB} MB", functions,
                                   per_hour))
    return items


def _local_lambda(started: rollout.Rollout, fn: str, port: int | None, options: Options) -> state.LocalProcess:
    """Make sure the local Lambda service runs `fn`; a running one picks up new code and config itself."""
    argv = python_module(
        "shopctl.lambda_local",
        "--function-name",
        fn,
        "--port",
        "{port}",
        "--idle-timeout",
        str(options.idle_timeout),
        "--max-concurrency",
        str(options.max_concurrency),
        # moto keeps no SnapStart setting (it reports ApplyOn None whatever was sent), so the local Lambda
        # learns it from this flag; it serves the configuration of $LATEST, which the alias's version copies.
        *(["--snapstart"] if options.snapstart else []),
    )
    return local_process(
        started,
        fn,
        argv,
        base_environ(started.stage.name, {}),
        port=port,
        ready_path=lambda_local.STATUS_PATH,
        what=f"the local Lambda for {fn}",
    )


# PACKAGE=image: the stage's own container image (the one ECS and EKS run, same command), served through the
# Lambda Web Adapter extension (deployment/Dockerfile copies it into /opt/extensions): it checks the app's
# /health before the first invocation, on the image's port 8080 (AWS_LWA_PORT's default), then turns
# invocations into HTTP requests.
WEB_ADAPTER_ENVIRONMENT = {"AWS_LWA_READINESS_CHECK_PATH": "/health"}


def ensure_image_function(
    stage: Stage,
    service: Service,
    statements: list[dict[str, Any]],
    environment: dict[str, str],
    options: Options,
    say: Callable[[str], None],
) -> str:
    """The image function for `service` (role, log group, function, Function URL). Returns the Function URL.

    The image is the stage's: built and pushed on ENV=aws when ECR lacks it (as for ECS), recorded by
    reference locally. Lambda takes one platform's image, not the multi-arch index ECS and EKS pull, so the
    function gets the digest of the image for its architecture.
    """
    fn = function_name(stage, service)
    repository_uri, _ = ecr.ensure_repository(stage.name)
    published = images.reference(stage.name, repository_uri, options.env, say)
    reference = images.for_architecture(published, options.architecture)
    tags = Tags(stage.name, TARGET)
    role_arn = execution_role_and_logs(fn, statements, tags, say)
    config = {
        **function_config(
            {**environment, **WEB_ADAPTER_ENVIRONMENT},
            f"Shapeshifting workshop: {service.asgi} (image, Lambda Web Adapter)",
            role_arn,
        ),
        "ImageConfig": {"Command": naming.container_command(service)},
    }
    outcome = create_or_update(fn, Code.image(reference), config, tags, options)
    function_url = serve_url(fn, options, say)
    image = reference.rsplit("/", 1)[-1]
    say(f"✓ function {fn} {outcome} from image {image} (Lambda Web Adapter), URL auth {options.auth_type}")
    return function_url


def deploy(stage: Stage, options: Options) -> state.DeploymentState:
    check(options)
    started = rollout.begin(
        stage, target=TARGET, label=LABEL, port_base=PORT_BASE, env=options.env, tables=options.tables,
        quiet=options.quiet,
    )
    tables, say = started.tables, started.say
    bucket = artifacts.ensure_bucket()

    urls: dict[str, str] = {}
    arns: dict[str, str] = {}  # service -> what its Function URL is on (the function, or its SnapStart alias)
    functions: list[str] = []
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        functions.append(fn)
        environment = {"RUNTIME": "LAMBDA", **naming.table_env(service, tables)}
        environment.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
        statements = [*iam.dynamodb_statements(stage.name, naming.table_kinds(service, tables))]
        if service.upstreams and options.auth_type == "AWS_IAM":
            # Its neighbours' URLs take signed requests only: it signs (the service's own code) and may invoke them.
            environment.update({f"{up.upper()}_AUTH": "AWS_IAM" for up in service.upstreams})
            statements += [invoke_url_statement(arns[up]) for up in service.upstreams]
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
        arn = clients.client("lambda").get_function_configuration(FunctionName=fn)["FunctionArn"]
        arns[service.name] = f"{arn}:{SNAPSTART_ALIAS}" if options.snapstart else arn
        if options.env == "local":
            # The stage's entry function gets the base URL port; internal ones keep the port they had.
            proc = _local_lambda(started, fn, started.entry_port(service, options.port), options)
            urls[service.name] = proc.url
            say(f"✓ local Lambda for {fn} serving {proc.url} (stands in for {function_url})")
        else:
            urls[service.name] = function_url.rstrip("/")

    api = api_name(stage)
    api_url = ""
    if api:
        by_service = {service.name: function_name(stage, service) for service in lambda_services(stage)}
        qualifier = SNAPSTART_ALIAS if options.snapstart else None
        api_url = http_api.ensure(api, by_service, options.auth_type, Tags(stage.name, TARGET), say, qualifier)
    if options.env == "local":
        # The gateway process carries the traffic here; the API exists in the local AWS only as records.
        base_url = started.entry_url(urls, options.port, "LAMBDA")
        if api:
            say(f"  (the gateway stands in for the HTTP API {api_url})")
    else:
        base_url = api_url or urls[stage.entry]
    created = state.DeploymentResources(
        functions=functions,
        roles=[f"{fn}-role" for fn in functions],
        log_groups=[f"/aws/lambda/{fn}" for fn in functions],
        service_urls=urls,
        artifact_bucket=bucket,
        # the image's repository is shared with ECS/EKS: destroy keeps it while they run
        image_repository=f"shop-{stage.name}" if options.package == "image" else "",
    )
    return started.finish(base_url, created)


def destroy(stage: Stage, options: Options, *, keep_data: bool = True) -> list[str]:
    """Remove what deploy created (tables only when keep_data is False). Returns what was removed."""
    name = deployment_name(stage)
    deployment = state.load(name)
    removed: list[str] = stop_processes(deployment)
    if deployment is None:
        bucket: str | None = artifacts.bucket_for_this_account()
    else:
        bucket = deployment.resources.artifact_bucket or None
    api = api_name(stage)
    if api:
        removed += http_api.remove(api)
    for service in lambda_services(stage):
        removed += remove_function(function_name(stage, service), bucket)
    if bucket and artifacts.delete_bucket_if_empty(bucket):
        removed.append(f"S3 bucket {bucket} (no package of any stage left in it)")
    if not keep_data:
        tables = rollout.recorded_tables(deployment, name)
        removed += [f"table {t}" for t in resources.delete_tables(tables)]
    state.remove(name)
    return rollout.report_removed(removed, keep_data=keep_data, quiet=options.quiet)


def uses_image(stage: Stage) -> bool:
    """Does a function of the stage run its container image (PACKAGE=image) — by its state record *or* by
    what Lambda holds, so a lost state file does not make a running function look gone."""
    record = state.load(deployment_name(stage))
    if record is not None and record.resources.image_repository:
        return True
    names = {function_name(stage, service) for service in stage.app_services()}
    for page in clients.client("lambda").get_paginator("list_functions").paginate():
        if any(f["FunctionName"] in names and f.get("PackageType") == "Image" for f in page["Functions"]):
            return True
    return False


def exists(stage: Stage) -> bool:
    """By its state record, or by what Lambda holds: a function of the stage."""
    if state.load(deployment_name(stage)) is not None:
        return True
    names = {function_name(stage, service) for service in lambda_services(stage)}
    pages = clients.client("lambda").get_paginator("list_functions").paginate()
    if any(f["FunctionName"] in names for page in pages for f in page["Functions"]):
        return True
    api = api_name(stage)
    return api is not None and http_api.find(api) is not None  # a destroy that stopped half-way


def describe(stage: Stage) -> dict[str, Any]:
    """The function configurations as AWS reports them (tests and `make status` use it)."""
    client = clients.client("lambda")
    out = {}
    for service in lambda_services(stage):
        fn = function_name(stage, service)
        out[fn] = client.get_function_configuration(FunctionName=fn)
    return json.loads(json.dumps(out, default=str))
