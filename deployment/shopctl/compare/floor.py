"""The floor: floor_app (FastAPI + Mangum + boto3, one DynamoDB client, no architecture) measured the way the
stages are — as a Lambda function in each mode and as a container command — and a bare `python -c pass`."""


import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shopctl.aws import artifacts, clients, iam, resources
from shopctl.aws.resources import TableNames, ensure_tables
from shopctl.compare.figures import summary
from shopctl.compare.lambda_subjects import LambdaSubject, health, package_facts
from shopctl.compare.process_subjects import ProcessSubject
from shopctl.errors import ShopctlError
from shopctl.lambda_local import testing as lambda_testing
from shopctl.local import localaws
from shopctl.package import Package, Platform, build_zip, package_path, pinned
from shopctl.stages import LAMBDA_REQUIREMENTS
from shopctl.targets import lambda_function, lambda_target

FLOOR_DIR = Path(__file__).with_name("floor_app")
FLOOR_FUNCTION = "shop-floor"
FLOOR_HANDLER = "floor_app.main.handler"
FLOOR_ASGI = "floor_app.main:app"
FLOOR_IMAGE_FUNCTION = "shop-floor-image"  # Lambda cannot turn a ZIP function into an image one


def bare_python(n: int) -> dict[str, Any] | None:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return summary(times)


def floor_package(platform: Platform, *, optimize: bool) -> Package:
    return build_zip(
        package_path("floor", "app", optimize=optimize, platform=platform),
        pinned(LAMBDA_REQUIREMENTS),
        {"floor_app": FLOOR_DIR},
        platform,
        label="floor",
        quiet=True,
        optimize=optimize,
    )


class FloorLambda:
    """The floor as a Lambda function like any other (same memory and timeout): locally served by the same
    local Lambda service as the stages, on ENV=aws deployed by the same `lambda_target.ensure_function`.
    `deploy(mode)` swaps its package, or its local Lambda's settings (SnapStart), or deploys its image
    function (the floor's uvicorn command, as ImageConfig.Command)."""

    def __init__(self, platform: Platform, logs: Path, options: lambda_target.Options) -> None:
        self.platform = platform
        self.logs = logs
        self.options = options
        self.tables = TableNames.for_deployment("floor-lambda")
        self.service: lambda_testing.RunningLambda | None = None
        self.service_args: tuple[str, ...] = ()  # the running local Lambda's function and flags
        self.bucket: str | None = None

    def function(self, package: Package) -> lambda_target.Function:
        statement = {  # its role may scan its one table: the floor's only call
            "Sid": "UsersTable",
            "Effect": "Allow",
            "Action": ["dynamodb:Scan"],
            "Resource": [iam.table_arn(self.tables.users)],
        }
        return lambda_target.Function(
            FLOOR_FUNCTION,
            FLOOR_HANDLER,
            "Shapeshifting workshop: the cold-start floor of make compare",
            package,
            [statement],
            {"USERS_TABLE": self.tables.users},
        )

    def deploy(self, mode: str) -> LambdaSubject:
        ensure_tables(self.tables)
        label = f"floor ({mode})"
        if mode == "image":
            return self._deploy_image()
        package = floor_package(self.platform, optimize=mode == "optimized")
        facts = {"variant": mode, "package": package_facts(package)}
        if self.options.env == "aws":
            self.bucket = artifacts.ensure_bucket()
            # SnapStart: its URL is on the alias of a published version, as `make deploy SNAPSTART=1` does.
            options = dataclasses.replace(self.options, snapstart=mode == "snapstart")
            url = lambda_target.ensure_function(self.function(package), self.bucket, options, lambda _: None)
            url = url.rstrip("/")
            health(url, self.options.auth_type, FLOOR_FUNCTION)
            return LambdaSubject(label, FLOOR_FUNCTION, url, "/users?limit=1", facts, self.options.auth_type, mode)
        lambda_testing.deploy(
            FLOOR_FUNCTION,
            package.data,
            handler=FLOOR_HANDLER,
            runtime=self.platform.runtime,
            variables={"USERS_TABLE": self.tables.users},
            timeout=lambda_function.TIMEOUT_S,
            memory=lambda_target.MEMORY_MB,
        )
        clients.client("lambda").get_waiter("function_updated_v2").wait(FunctionName=FLOOR_FUNCTION)
        flags = ("--snapstart",) if mode == "snapstart" else ()
        url = self._serve(FLOOR_FUNCTION, flags)
        return LambdaSubject(label, FLOOR_FUNCTION, url, "/users?limit=1", facts, mode=mode)

    def _deploy_image(self) -> LambdaSubject:
        """floor_app's uvicorn command as an image function, as `lambda_target.ensure_image_function` deploys a
        stage's: the image's command in ImageConfig.Command, the adapter's readiness check on /health. Locally
        the image is this machine's Python; `--app-dir` puts floor_app on its path, as the image's workdir would."""
        if self.options.env == "aws":
            raise ShopctlError("the image mode is measured with ENV=local only", "use MODES=plain,optimized,snapstart")
        command = ["python", "-m", "uvicorn", FLOOR_ASGI, "--app-dir", str(FLOOR_DIR.parent)]
        command += ["--host", "0.0.0.0", "--port", "8080"]
        lambda_testing.deploy_image(
            FLOOR_IMAGE_FUNCTION,
            command,
            variables={"USERS_TABLE": self.tables.users, **lambda_target.WEB_ADAPTER_ENVIRONMENT},
            timeout=lambda_function.TIMEOUT_S,
            memory=lambda_target.MEMORY_MB,
        )
        clients.client("lambda").get_waiter("function_updated_v2").wait(FunctionName=FLOOR_IMAGE_FUNCTION)
        url = self._serve(FLOOR_IMAGE_FUNCTION, ())
        facts = {"variant": "image", "package": None, "image_command": command}
        return LambdaSubject("floor (image)", FLOOR_IMAGE_FUNCTION, url, "/users?limit=1", facts, mode="image")

    def _serve(self, function: str, flags: tuple[str, ...]) -> str:
        """The local Lambda for `function` with `flags`: kept when it already runs so, else (re)started."""
        if self.service is not None and self.service_args == (function, *flags):
            time.sleep(1.1)  # the local Lambda re-reads the configuration at most once a second
        else:
            if self.service is not None:
                self.service.stop()
            # A new service fetches and unzips the code before it says "ready".
            self.service = lambda_testing.start(function, self.logs / f"{function}.log", *flags)
            self.service_args = (function, *flags)
        # Untimed: a running local Lambda fetches and unzips new code on the first request after a deploy.
        health(self.service.url, "NONE", function, hint=f"see {self.service.log}")
        return self.service.url

    def stop(self) -> list[str]:
        """Stop it and, on ENV=aws, delete what it was made of (function, role, log group, packages, table)."""
        if self.service is not None:
            self.service.stop()
        if self.options.env != "aws":
            return []
        removed = lambda_target.remove_function(FLOOR_FUNCTION, self.bucket)
        return removed + [f"table {t}" for t in resources.delete_tables(self.tables)]


def floor_process(aws: localaws.LocalAws, target: str) -> ProcessSubject:
    """The floor as a container command (the same form as an ECS task definition's)."""
    tables = TableNames.for_deployment("floor-process")
    ensure_tables(tables)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "USERS_TABLE")}
    env.update({**aws.environ(), "PYTHONPATH": str(FLOOR_DIR.parent), "USERS_TABLE": tables.users})
    argv = ["python", "-m", "uvicorn", FLOOR_ASGI, "--host", "0.0.0.0", "--port", "8080"]
    return ProcessSubject("floor", "app", target, argv, env)


