"""One Lambda function, the same calls on ENV=local and ENV=aws: its execution role and log group, the code
(a ZIP in the artifact bucket, or an image) created or updated only where it changed, its Function URL and —
with SNAPSTART=1 — the published version and alias the URL is on; and its removal.

`lambda_target` deploys a stage's services with it; `make compare` its cold-start floor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import artifacts, clients, iam, resources
from shopctl.aws.logs import delete_log_group, ensure_log_group
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.package import Package, Platform

MEMORY_MB = 512  # CPU scales with memory; 512 MB keeps a FastAPI cold start reasonable
TIMEOUT_S = 15
LOG_RETENTION_DAYS = 14
# SNAPSTART=1: the alias the Function URL is on. SnapStart applies to published versions only, never to
# $LATEST, so callers must reach a version, and an alias is how a URL follows new versions.
SNAPSTART_ALIAS = "live"
SNAPSTART_MIN_PYTHON = (3, 12)  # the first Python runtime Lambda offers SnapStart for


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
    optimize: bool = False  # the package tuned for cold starts (shopctl.package: bytecode, stripped SDK data)
    snapstart: bool = False  # SnapStart on published versions, served through the alias SNAPSTART_ALIAS
    package: str = "zip"  # "image": the stage's container image behind the Lambda Web Adapter

    @property
    def auth_type(self) -> str:
        return self.auth or ("AWS_IAM" if self.env == "aws" else "NONE")

    def platform(self) -> Platform:
        # Build for the interpreter that will import the package: here, this machine's Python.
        return Platform.aws(self.python, self.architecture) if self.env == "aws" else Platform.local()


def check(options: Options) -> None:
    """Stop (one line, with a hint) on a combination Lambda refuses, before anything is created."""
    if options.snapstart and options.package == "image":
        raise ShopctlError(
            "SnapStart does not apply to container images (Lambda snapshots managed runtimes only)",
            "deploy either SNAPSTART=1 (a ZIP package) or PACKAGE=image, not both",
        )
    python = tuple(int(part) for part in options.python.split(".")[:2])
    if options.snapstart and options.env == "aws" and python < SNAPSTART_MIN_PYTHON:
        raise ShopctlError(
            f"SnapStart needs Python 3.12 or later on Lambda (PYTHON_VERSION={options.python})",
            "use PYTHON_VERSION=3.12 or later, or deploy without SNAPSTART=1",
        )


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


@dataclass(frozen=True)
class Code:
    """What a function runs, for either package type: where the code is (create_function's `Code`, and
    update_function_code's arguments alike), and what tells whether the function already runs it."""

    package_type: str  # "Zip" | "Image"
    location: dict[str, str]  # {"S3Bucket", "S3Key"} or {"ImageUri"}
    identity: str  # a ZIP's CodeSha256, an image's URI (by digest)

    @classmethod
    def zip(cls, bucket: str, key: str, sha: str) -> Code:
        return cls("Zip", {"S3Bucket": bucket, "S3Key": key}, sha)

    @classmethod
    def image(cls, uri: str) -> Code:
        return cls("Image", {"ImageUri": uri}, uri)

    def running(self, client: Any, name: str, current: dict[str, Any]) -> str:
        if self.package_type == "Zip":
            return current["CodeSha256"]
        return client.get_function(FunctionName=name)["Code"].get("ImageUri", "")


def _seen_config(current: dict[str, Any]) -> dict[str, Any]:
    """A function's configuration as get_function_configuration reports it, in update_function_configuration's
    shape (the keys of either package type; the caller compares those it sets)."""
    image_config = (current.get("ImageConfigResponse") or {}).get("ImageConfig") or {}
    return {
        "Role": current["Role"],
        "Handler": current.get("Handler", ""),
        "Runtime": current.get("Runtime", ""),
        "MemorySize": current["MemorySize"],
        "Timeout": current["Timeout"],
        "Environment": {"Variables": current.get("Environment", {}).get("Variables", {})},
        "Description": current.get("Description", ""),
        "ImageConfig": {key: value for key, value in image_config.items() if value},  # unset ones: not there
        "SnapStart": {"ApplyOn": (current.get("SnapStart") or {}).get("ApplyOn", "None")},
    }


def create_or_update(
    name: str, code: Code, config: dict[str, Any], tags: Tags, options: Options
) -> str:
    """Create the function, or update only what changed (code, then configuration), for either package type.
    Returns "created", "updated" or "unchanged"."""
    client = clients.client("lambda")
    try:
        current = client.get_function_configuration(FunctionName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        iam.retry_while_role_propagates(
            lambda: client.create_function(
                FunctionName=name,
                Code=code.location,
                PackageType=code.package_type,
                Architectures=[options.architecture],
                Tags=tags.as_dict(),
                **config,
            )
        )
        client.get_waiter("function_active_v2").wait(FunctionName=name)
        return "created"
    current_type = current.get("PackageType") or "Zip"
    if current_type != code.package_type:  # Lambda cannot change a function's package type
        deploy_as = "with PACKAGE=image" if code.package_type == "Image" else "as a ZIP"
        raise ShopctlError(
            f"{name} is {'an image' if current_type == 'Image' else 'a ZIP'} function",
            f"run `make destroy` first, then deploy it {deploy_as}",
        )
    changed = False
    if code.running(client, name, current) != code.identity:
        client.update_function_code(FunctionName=name, **code.location)
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    seen = _seen_config(current)
    # moto does not keep SnapStart (it always reports ApplyOn None), so locally a SnapStart function's
    # configuration is sent again on every deploy; on AWS an unchanged one is left alone.
    if {key: seen[key] for key in config} != config:
        iam.retry_while_role_propagates(lambda: client.update_function_configuration(FunctionName=name, **config))
        client.get_waiter("function_updated_v2").wait(FunctionName=name)
        changed = True
    return "updated" if changed else "unchanged"


def execution_role_and_logs(fn: str, statements: list[dict[str, Any]], tags: Tags, say: Callable[[str], None]) -> str:
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
    ensure_log_group(f"/aws/lambda/{fn}", LOG_RETENTION_DAYS, tags=tags)
    return role_arn


def _qualified(qualifier: str | None) -> dict[str, str]:
    return {"Qualifier": qualifier} if qualifier else {}


def _ensure_function_url(name: str, auth_type: str, qualifier: str | None = None) -> str:
    """The Function URL of the function, or of its alias `qualifier`, with the permissions AUTH=NONE needs."""
    client = clients.client("lambda")
    where = _qualified(qualifier)
    try:
        url = client.get_function_url_config(FunctionName=name, **where)
        if url["AuthType"] != auth_type:
            url = client.update_function_url_config(FunctionName=name, AuthType=auth_type, **where)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        url = client.create_function_url_config(FunctionName=name, AuthType=auth_type, **where)
    public_sids = ("FunctionURLAllowPublicAccess", "FunctionURLInvokeAllowPublicAccess")
    if auth_type != "NONE":
        # AUTH=NONE → AWS_IAM: the public statements would stay in the policy, and let anyone invoke again
        # the moment the URL were switched back; they go with the public URL.
        for sid in set(public_sids) & _statement_ids(client, name, qualifier):
            client.remove_permission(FunctionName=name, StatementId=sid, **where)
    if auth_type == "NONE":
        # A public URL needs both permissions in the resource policy of what it is on — the alias for
        # SnapStart — since October 2025. Added only when missing: AWS refuses a second statement with the
        # same Sid, but not every emulator does (moto appends it), and a re-deploy must leave the policy
        # exactly as it was.
        present = _statement_ids(client, name, qualifier)
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
                client.add_permission(FunctionName=name, StatementId=sid, Principal="*", **where, **extra)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceConflictException":
                    raise
    return url["FunctionUrl"]


def _statement_ids(client: Any, name: str, qualifier: str | None = None) -> set[str]:
    try:
        policy = json.loads(client.get_policy(FunctionName=name, **_qualified(qualifier))["Policy"])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return set()
    return {statement.get("Sid", "") for statement in policy.get("Statement", [])}


def _delete_function_url(name: str, qualifier: str | None = None) -> bool:
    """Delete the Function URL of the function (or of its alias); False when there was none."""
    client, where = clients.client("lambda"), _qualified(qualifier)
    try:
        # Asked first: AWS refuses to delete a URL that is not there, but moto says yes to it.
        client.get_function_url_config(FunctionName=name, **where)
        client.delete_function_url_config(FunctionName=name, **where)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return False


def alias_version(fn: str) -> str | None:
    """The version the SnapStart alias points at (None: no alias, the function is served unqualified)."""
    try:
        return clients.client("lambda").get_alias(FunctionName=fn, Name=SNAPSTART_ALIAS)["FunctionVersion"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return None


def publish_to_alias(fn: str, say: Callable[[str], None]) -> str:
    """Publish a version of `fn`, wait until it is active and point the alias at it. Returns the version.

    With SnapStart, publishing is when Lambda runs init and takes the snapshot: the version becomes Active
    once the snapshot is ready (a minute or more on AWS), so the alias — and the Function URL on it — only
    moves to a version that restores. Deploy and `make coldstart` both go through here. Earlier versions
    stay until `make destroy` (deleting the function deletes them): each one's snapshot is billed while it
    is cached — Lambda drops the snapshot of a version not invoked for 14 days.
    """
    client = clients.client("lambda")
    say(f"… publishing a version of {fn} (SnapStart: init runs and the snapshot is taken now)")
    version = client.publish_version(FunctionName=fn, Description="Shapeshifting workshop (SnapStart)")["Version"]
    client.get_waiter("published_version_active").wait(
        FunctionName=fn, Qualifier=version, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
    )
    previous = alias_version(fn)
    if previous is None:
        client.create_alias(FunctionName=fn, Name=SNAPSTART_ALIAS, FunctionVersion=version)
    elif previous != version:  # publish_version returns the latest version when nothing changed
        client.update_alias(FunctionName=fn, Name=SNAPSTART_ALIAS, FunctionVersion=version)
    say(f"✓ version {version} of {fn} active (snapshot taken), alias {SNAPSTART_ALIAS} → {version}")
    return version


def _remove_alias(fn: str) -> list[str]:
    """The SnapStart alias and the Function URL on it (each only if there). Returns what was removed."""
    if alias_version(fn) is None:
        return []
    removed = []
    if _delete_function_url(fn, SNAPSTART_ALIAS):
        removed.append(f"Function URL of {fn}:{SNAPSTART_ALIAS}")
    clients.client("lambda").delete_alias(FunctionName=fn, Name=SNAPSTART_ALIAS)
    return [*removed, f"alias {fn}:{SNAPSTART_ALIAS}"]


# A public Function URL on AWS (AUTH=NONE) is a spend cap's first candidate: anyone with the URL can call it,
# and each call costs Lambda and DynamoDB money. Reserved concurrency caps the requests served at once (Lambda
# answers 429 beyond), so a stranger's loop cannot scale it to the account's limit.
PUBLIC_URL_CONCURRENCY = 5


def spend_cap(fn: str, options: Options, say: Callable[[str], None]) -> None:
    """On AWS: a public URL's function gets PUBLIC_URL_CONCURRENCY reserved; with AUTH=AWS_IAM none (a cap an
    earlier public deploy set is removed). Lambda refuses a reservation that would leave the account less than
    100 unreserved (a new account's limit is 10, so it reserves nothing): said in one line, and the deploy
    goes on — the function is then capped by the account's limit only. Locally nothing (the local Lambda has
    its own max concurrency)."""
    if options.env != "aws":
        return
    client = clients.client("lambda")
    reserved = client.get_function_concurrency(FunctionName=fn).get("ReservedConcurrentExecutions")
    if options.auth_type != "NONE":
        if reserved is not None:
            client.delete_function_concurrency(FunctionName=fn)
            say(f"✓ reserved concurrency of {fn} removed (its URL takes signed requests only now)")
        return
    if reserved == PUBLIC_URL_CONCURRENCY:
        return
    try:
        client.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=PUBLIC_URL_CONCURRENCY)
    except ClientError as error:
        if error.response["Error"]["Code"] != "InvalidParameterValueException":
            raise
        # Source: Lambda developer guide, "Configuring reserved concurrency for a function" (at least 100 stay
        # unreserved). Stopping here would leave a half-made deployment for a cap the account's own limit
        # already bounds; the URL works, and the line says what to do about it.
        say(
            f"! no spend cap on {fn}'s public URL: Lambda refused to reserve {PUBLIC_URL_CONCURRENCY} concurrent "
            f"executions ({error.response['Error'].get('Message', '')}); the account's limit caps it instead — "
            "ask for more in Service Quotas (AWS Lambda, Concurrent executions), or deploy with AUTH=AWS_IAM"
        )
        return
    say(f"✓ reserved concurrency {PUBLIC_URL_CONCURRENCY} for {fn}: a spend cap on its public URL (429 beyond)")


def serve_url(fn: str, options: Options, say: Callable[[str], None]) -> str:
    """The Function URL callers use: on the SnapStart alias (after publishing a version), or on the function.
    Switching modes removes the other mode's URL, so only one way in serves the function."""
    spend_cap(fn, options, say)
    if options.snapstart:
        first = alias_version(fn) is None
        publish_to_alias(fn, say)
        if first and _delete_function_url(fn):  # it served $LATEST, which SnapStart never applies to
            say(f"✓ removed the Function URL of {fn} ($LATEST): the one on {fn}:{SNAPSTART_ALIAS} replaces it")
        return _ensure_function_url(fn, options.auth_type, SNAPSTART_ALIAS)
    for line in _remove_alias(fn):
        say(f"✓ removed {line} (deployed without SnapStart now)")
    return _ensure_function_url(fn, options.auth_type)


def function_config(function_environment: dict[str, str], description: str, role_arn: str) -> dict[str, Any]:
    """What both package types configure alike."""
    return {
        "Role": role_arn,
        "MemorySize": MEMORY_MB,
        "Timeout": TIMEOUT_S,
        "Environment": {"Variables": function_environment},
        "Description": description,
    }


def ensure_function(function: Function, bucket: str, options: Options, say: Callable[[str], None]) -> str:
    """Package upload, execution role (its statements + logs on its own log group), log group, function and
    Function URL — created, or updated where they differ. Returns the Function URL."""
    fn = function.name
    sha = artifacts.code_sha256(function.package.data)
    _, key = artifacts.upload(fn, function.package.data)
    role_arn = execution_role_and_logs(fn, function.statements, function.tags, say)
    config = {
        **function_config(function.environment, function.description, role_arn),
        "Handler": function.handler,
        "Runtime": options.platform().runtime,
        "SnapStart": {"ApplyOn": "PublishedVersions" if options.snapstart else "None"},
    }
    outcome = create_or_update(fn, Code.zip(bucket, key, sha), config, function.tags, options)
    say(f"✓ function {fn} {outcome} (CodeSha256 {sha[:12]}…)")
    function_url = serve_url(fn, options, say)
    say(f"✓ Function URL of {fn}{':' + SNAPSTART_ALIAS if options.snapstart else ''}, auth {options.auth_type}")
    return function_url


def remove_function(fn: str, bucket: str | None) -> list[str]:
    """Remove what ensure_function created for `fn` (each part only if there). Returns what was removed."""
    client = clients.client("lambda")
    removed = _remove_alias(fn)
    _delete_function_url(fn)
    try:
        client.delete_function(FunctionName=fn)  # its published versions go with it
        removed.append(f"function {fn}")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    if iam.delete_role(f"{fn}-role"):
        removed.append(f"role {fn}-role")
    if delete_log_group(f"/aws/lambda/{fn}"):
        removed.append(f"log group /aws/lambda/{fn}")
    if bucket:
        s3 = clients.client("s3")
        try:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{fn}/").get("Contents", [])
        except ClientError:
            listed = []
        for obj in listed:
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        if listed:
            removed.append(f"{len(listed)} package(s) s3://{bucket}/{fn}/")
    return removed


