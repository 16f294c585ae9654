"""Cold starts, measured (section 2 of `make compare`), and the four Lambda modes (section 4).

Everything runs on this machine, in one run, against a local AWS of its own:

- the **floor**: a bare `python -c pass`, and `floor_app` (FastAPI + Mangum + boto3, one DynamoDB client,
  one DynamoDB call) packaged like a stage, run on the same local Lambda and as the same container command;
- **Lambda**: each stage deployed exactly as `make deploy TARGET=lambda` does, in four modes one after the
  other (the plain ZIP, `OPTIMIZE=1`, `SNAPSTART=1`, `PACKAGE=image`), N cold starts forced the way one does on
  AWS (`shopctl.targets.coldstart`: change the configuration, invoke, read Init (or Restore) Duration and
  Duration from the REPORT lines in CloudWatch Logs), package sizes from the build;
- **ECS / EKS / local**: the container command of the registered task definition / rendered Deployment
  (read back from the files local ECS/EKS run from), started N times as a fresh process: time from
  process start to the first 200 on the health path, then the first request;
- an **import-time breakdown** (`python -X importtime`) of each Lambda handler inside its plain package,
  run the way the local Lambda runs it (isolated interpreter, no bytecode written).

Ratios to the floor are the headline: they are stable across machines, absolute times are not. The runs
are interleaved (run i of the floor and of every stage before run i+1 of any), so a machine that gets
busier halfway slows the floor and the stages alike instead of skewing the ratios; the order within a round
changes every round, and a ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shopctl import fleet, httpclient
from shopctl.aws import artifacts, clients, iam, resources, state
from shopctl.aws.resources import TableNames, ensure_tables
from shopctl.errors import ShopctlError
from shopctl.lambda_local import testing as lambda_testing
from shopctl.lambda_local.function import extract
from shopctl.local import localaws, run
from shopctl.local.deployment import manifest_dir, stop_processes
from shopctl.local.net import free_port
from shopctl.local.process import base_environ, temporary_environment, uvicorn_argv
from shopctl.local.supervisor import Spec, start_replica, write_files
from shopctl.package import Package, Platform, build, build_root, build_zip, package_path, pinned
from shopctl.stages import LAMBDA_REQUIREMENTS, STAGES, Service, Stage, get_stage
from shopctl.targets import coldstart, ecs_target, eks_target, lambda_function, lambda_target, naming, registry

FLOOR_DIR = Path(__file__).with_name("floor_app")
FLOOR_FUNCTION = "shop-floor"
FLOOR_HANDLER = "floor_app.main.handler"
FLOOR_ASGI = "floor_app.main:app"
# The Lambda modes, in the order they are measured. The JSON key stays "variant" (reports written before
# SnapStart and the image existed still render).
MODES = ("plain", "optimized", "snapstart", "image")
ZIP_MODES = ("plain", "optimized")
# ENV=aws: the floor has no container image in ECR, so the image mode is measured on the local Lambda only
# (a stage's image on AWS: `make deploy … PACKAGE=image ENV=aws`, then `make coldstart … ENV=aws`).
AWS_MODES = (*ZIP_MODES, "snapstart")
FLOOR_IMAGE_FUNCTION = "shop-floor-image"  # Lambda cannot turn a ZIP function into an image one
# SnapStart: an idle environment is reaped after this long, so the next request restores the snapshot again.
PROCESS_TARGETS = ("local", "ecs", "eks")
TARGETS = ("lambda", *PROCESS_TARGETS)
HEALTH_TIMEOUT_S = 45.0

METHODS = {
    "bare_python": "`python -c pass` with this virtualenv's interpreter, started N times by subprocess.run; "
    "wall time from spawn to exit.",
    "lambda": "Each stage deployed as `make deploy TARGET=lambda` does (ENV=local), run by the local Lambda "
    "(worker processes, isolated interpreter, the package unzipped as a read-only task root). A cold start is "
    "forced N times by changing an environment variable (as on AWS), then one request: `cold request` = "
    "that request's latency measured by the client (init + invoke + the Function URL hop); `init` = Init "
    "Duration from the REPORT line; then W warm requests, whose REPORT Durations give warm p50/p99. Sizes "
    "are the package ZIP as built and its unzipped content. Figures are medians over the N runs; the runs of "
    "the floor and of every function are interleaved, the order changing each round. Before timing, "
    "each deployment serves the talk's flow once (the contract check, and the local Lambda's fetch of new "
    "code, which is not a cold start).",
    "modes": "The Lambda modes are measured one after the other in the same run, each deployed as `make deploy "
    "TARGET=lambda` deploys it: `plain` (the ZIP), `optimized` (OPTIMIZE=1), `snapstart` (SNAPSTART=1, the plain "
    "ZIP: the local Lambda initialises once per configuration into a snapshot and a cold start forks it) and "
    "`image` (PACKAGE=image: the stage's container command behind the local Lambda Web Adapter; Init Duration = "
    "the server's time to a healthy /health). Within a mode the floor and every stage are interleaved as above; "
    "the stage is destroyed (tables kept) before a mode that changes the local Lambda's settings or the package "
    "type. SnapStart's cold figure is the restore: each cold start is forced as on AWS (a configuration "
    "change published as a new version behind the alias `live`) and timed only once that version's snapshot is "
    "ready (`coldstart.force_restore`, untimed), so the timed request "
    "restores a new environment from that snapshot (REPORT: Restore Duration, no Init Duration). `x plain ZIP` = "
    "the mode's median cold request / the plain ZIP's median of the same function (measured in another block of "
    "the run: a ratio of medians); `x floor` = per round, to the floor in the same mode (floor_app with "
    "SnapStart; floor_app's uvicorn command as the image function's ImageConfig.Command), else to the plain "
    "floor.",
    "lambda_aws": "ENV=aws: each stage deployed by the same code as `make deploy TARGET=lambda ENV=aws` (the "
    "package built for the function's runtime, {runtime}, {memory} MB, Function URL with AWS_IAM auth, requests "
    "signed with SigV4), in {region}. A cold start is forced N times by changing an environment variable, then "
    "one request: `cold request` = its latency seen by this client (init + invoke + the network to the Function "
    "URL); `init` = Init Duration from the REPORT line read back from CloudWatch Logs; then W warm requests. "
    "Figures are medians over the N runs, interleaved with the floor's (deployed the same way), the order "
    "changing each round. Before timing, each function answers GET /health once (signed). Every function, "
    "role, log group, package and table of the run is deleted at the end.",
    "floor": "`floor_app` (deployment/shopctl/compare/floor_app): imports fastapi, mangum and boto3, creates one "
    "DynamoDB client, answers GET /users with one DynamoDB Scan — no architecture. Packaged by the same code as "
    "the stages and measured the same way on the same local Lambda / as the same container command, in the "
    "same run. ratio = the median over the rounds of (the stage's run i / the floor's run i), both measured side "
    "by side (Lambda: the floor packaged the same way, plain or optimised, when both were measured, else the "
    "plain floor's median is the denominator; containers: the floor on the same target).",
    "process": "The container command of the registered ECS task definition / the rendered EKS Deployment (the "
    "spec local ECS/EKS run, read back after a real local deploy), `make run`'s uvicorn command for `local`. "
    "Each of the N runs (interleaved with the floor's and the other stages') starts a fresh process (this "
    "machine's Python, port replaced), polls the health path "
    "every 10 ms: `healthy` = process start → first 200; `first request` = the next request's latency "
    "(GET /users?limit=1, /orders?limit=1 for orders-service), then W warm ones. ratio = (healthy + first "
    "request) / the floor's, per round as for Lambda: a stage that reads its configuration at start "
    "(clean: bootstrap) and one that reads it on the first request (monolith, microservices) are compared on "
    "what a caller waits for.",
    "importtime": "`python -I -S -B -X importtime -c 'import <handler module>'` inside the unzipped *plain* "
    "package with the function's environment (as the local Lambda imports it: no site-packages, no bytecode "
    "written, so every module is compiled from source). Self time summed per top-level package; the handler "
    "module's own self time includes its module-level code (app creation, boto3 clients). One run per "
    "handler; -X importtime itself adds overhead, so read the shares, not the totals.",
}


# --- numbers ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — with few samples, a sample that was actually seen."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, Any] | None:
    values = [float(v) for v in values if v is not None]
    if not values:
        return None
    return {
        "n": len(values),
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "p99": round(percentile(values, 99), 2),
        "values": [round(v, 2) for v in values],
    }


def per_round(value: dict | None, floor: dict | None) -> list[float] | None:
    """Run i of a stage over run i of the floor, for every round — None when the runs do not pair."""
    if not value or not floor or len(value["values"]) != len(floor["values"]) or not all(floor["values"]):
        return None
    return [v / f for v, f in zip(value["values"], floor["values"], strict=True)]


def ratio(value: dict | None, floor: dict | None, *, paired: bool = False) -> float | None:
    """A stage's figure over the floor's. `paired`: both were measured in the same rounds (run i of each
    side by side), so the ratio is the median of the per-round ratios — a round where the whole machine was
    slower slows both sides of its ratio, where a ratio of two medians can mix a slow round with a quick one.
    Otherwise the ratio of the two medians."""
    if not value or not floor or not floor["median"]:
        return None
    rounds = per_round(value, floor) if paired else None
    if rounds:
        return round(statistics.median(rounds), 3)
    return round(value["median"] / floor["median"], 3)


def round_ratios(value: dict | None, floor: dict | None) -> list[float] | None:
    """[lowest, highest] of the per-round ratios (paired figures only): how much one round can differ."""
    rounds = per_round(value, floor)
    return [round(min(rounds), 3), round(max(rounds), 3)] if rounds else None


def rotated(items: list, run: int) -> list:
    """The order of round `run`, a Williams design: over len(items) rounds every subject runs once in each
    position and (for an even count) right after each other subject once — so no subject always runs first,
    or always right after the same one (whose environment may still be shutting down, its logs flushing)."""
    count = len(items)
    base, low, high = [0], 1, count - 1
    while len(base) < count:
        base.append(low)
        low += 1
        if len(base) < count:
            base.append(high)
            high -= 1
    return [items[(b + run) % count] for b in base] if count else []


def request_path(service: Service) -> str:
    """The first request: one that reads the database (the orders-service lists orders, the rest users)."""
    return "/orders?limit=1" if service.name == "orders" else "/users?limit=1"


def package_facts(package: Package) -> dict[str, Any]:
    return {
        "zipped_mb": round(package.zipped_bytes / 1e6, 2),
        "unzipped_mb": round(package.unzipped_bytes / 1e6, 2),
        "files": package.files,
    }


# --- the floor -----------------------------------------------------------------------------------------------


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


# --- Lambda --------------------------------------------------------------------------------------------------


@dataclass
class LambdaSubject:
    """One function to force cold starts of, and what was seen so far."""

    label: str
    function: str
    url: str
    path: str
    facts: dict[str, Any]
    auth: str = "NONE"  # the Function URL's AuthType: AWS_IAM ones get signed requests
    mode: str = "plain"
    rows: list[coldstart.Row] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        warm_ms = [ms for row in self.rows for ms in row.warm_ms]
        return {
            **self.facts,
            "cold_starts_seen": sum(1 for r in self.rows if r.init_ms is not None or r.restore_ms is not None),
            "init_ms": summary([r.init_ms for r in self.rows if r.init_ms is not None]),
            "restore_ms": summary([r.restore_ms for r in self.rows if r.restore_ms is not None]),
            "cold_request_ms": summary([r.first_request_ms for r in self.rows]),
            "cold_duration_ms": summary([r.cold_duration_ms for r in self.rows if r.cold_duration_ms is not None]),
            "warm_ms": summary(warm_ms),
            "warm_p50_ms": round(percentile(warm_ms, 50), 2) if warm_ms else None,
            "warm_p99_ms": round(percentile(warm_ms, 99), 2) if warm_ms else None,
        }


def mode_options(
    mode: str, *, env: str = "local", port: int | None = None, python: str = lambda_target.Options.python
) -> lambda_target.Options:
    """What `make deploy TARGET=lambda` gets for a mode: OPTIMIZE=1, SNAPSTART=1 or PACKAGE=image."""
    return lambda_target.Options(
        env=env,
        port=port,
        python=python,
        quiet=True,
        optimize=mode == "optimized",
        snapstart=mode == "snapstart",
        package="image" if mode == "image" else "zip",
    )


def round_robin_lambda(subjects: list[LambdaSubject], *, n: int, warm: int, say: Callable[[str], None]) -> None:
    """Run i of every subject before run i+1 of any: a machine that gets busier mid-run slows all alike,
    so the ratios to the floor hold even when the absolute times drift; the order changes each round."""
    for i in range(1, n + 1):
        for subject in rotated(subjects, i - 1):
            [row] = coldstart.measure(
                subject.function,
                subject.url,
                runs=1,
                warm=warm,
                path=subject.path,
                auth_type=subject.auth,
                quiet=True,
                snapstart=subject.mode == "snapstart",  # a restore: timed once the new snapshot is ready
            )
            subject.rows.append(row)
            if row.restore_ms is not None:
                init = f"restore {row.restore_ms:.0f} ms"
            else:
                init = f"init {row.init_ms:.0f} ms" if row.init_ms is not None else "init — (no cold start seen)"
            say(f"    run {i}/{n} {subject.label}: {init}, cold request {row.first_request_ms:.0f} ms")


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


def health(url: str, auth: str, function: str, *, hint: str = "see its CloudWatch Logs") -> None:
    """One untimed GET /health (signed for AWS_IAM): the function serves before any timing starts."""
    status, _ = coldstart.invoke_url(f"{url}/health", auth_type=auth)
    if status != 200:
        raise ShopctlError(f"{function} answered GET /health with {status}", hint)


def deploy_stage_lambda(
    stage_name: str, variant: str, options: lambda_target.Options, say: Callable[[str], None]
) -> list[LambdaSubject]:
    """Deploy the stage as `make deploy TARGET=lambda [OPTIMIZE=1|SNAPSTART=1|PACKAGE=image] [ENV=aws]` does,
    check it serves."""
    stage = get_stage(stage_name)
    where = "AWS Lambda" if options.env == "aws" else "the local Lambda"
    say(f"… deploying {stage.name} to {where} ({MODE_NAMES.get(variant, variant)})")
    deployment = lambda_target.deploy(stage, options)
    urls = deployment.resources.service_urls
    if options.env == "aws":
        # On AWS the microservices have one URL per function (no gateway), and the URLs want signed requests.
        for service in lambda_target.lambda_services(stage):
            health(urls[service.name], options.auth_type, lambda_target.function_name(stage, service))
        ok, detail = True, "GET /health answered 200 on every function (signed)"
    else:
        # The deployment must still serve the contract: the talk's flow. Run first, it also has the local Lambda
        # fetch and unzip the new code, which no measured cold start should include.
        flow = fleet.talk_flow(deployment.url)
        ok, detail = flow.ok, flow.detail
    say(f"  {'✓' if ok else '✗'} {stage.name} ({variant}) serves: {detail}")
    subjects = []
    for service in lambda_target.lambda_services(stage):
        function = lambda_target.function_name(stage, service)
        facts: dict[str, Any] = {
            "stage": stage.name,
            "service": service.name,
            "function": function,
            "variant": variant,
            "path": request_path(service),
            "flow_ok": ok,
            "flow": detail,
        }
        if options.package == "image":
            facts["package"] = None  # the stage's container image: no ZIP to size
            facts["image_command"] = naming.container_command(service)
        else:
            package = build(stage, service, options.platform(), quiet=True, optimize=options.optimize)
            facts["package"] = package_facts(package)
        subjects.append(
            LambdaSubject(
                f"{function} ({variant})",
                function,
                urls[service.name].rstrip("/"),
                request_path(service),
                facts,
                options.auth_type,
                variant,
            )
        )
    return subjects


MODE_NAMES = {
    "plain": "plain ZIP",
    "optimized": "OPTIMIZE=1 ZIP",
    "snapstart": "SNAPSTART=1, plain ZIP",
    "image": "PACKAGE=image, Lambda Web Adapter",
}


def needs_fresh_deploy(previous: str | None, mode: str) -> bool:
    """A running local Lambda keeps its settings (SnapStart) across deploys, and Lambda cannot
    change a function's package type: moving into or out of those modes starts from a destroyed stage."""
    special = ("snapstart", "image")
    return previous is not None and previous != mode and (previous in special or mode in special)


def measure_lambda(
    stages: list[str],
    modes: tuple[str, ...],
    floor_modes: tuple[str, ...],
    *,
    n: int,
    warm: int,
    logs: Path,
    say: Callable[[str], None],
    env: str = "local",
    python: str = lambda_target.Options.python,
) -> tuple[dict[str, dict], list[dict]]:
    """Per mode: the floor and every stage deployed side by side, their cold starts interleaved."""

    def options(mode: str, port: int | None = None) -> lambda_target.Options:
        return mode_options(mode, env=env, port=port, python=python)

    floor = FloorLambda(options("plain").platform(), logs, options("plain"))
    ports = {stage: free_port() if env == "local" else None for stage in stages}
    floor_rows: dict[str, dict] = {}
    rows: list[dict] = []
    previous: str | None = None
    try:
        for mode in modes:
            if needs_fresh_deploy(previous, mode):
                for stage in stages:
                    lambda_target.destroy(get_stage(stage), options(previous or "plain"), keep_data=True)
            previous = mode
            subjects = [floor.deploy(mode)] if mode in floor_modes else []
            for stage in stages:
                subjects += deploy_stage_lambda(stage, mode, options(mode, ports[stage]), say)
            say(
                f"… Lambda, {MODE_NAMES.get(mode, mode)}: {n} cold starts of each function, interleaved "
                f"(+{warm} warm each)"
            )
            round_robin_lambda(subjects, n=n, warm=warm, say=say)
            for subject in subjects:
                figures = subject.figures()
                if subject.function in (FLOOR_FUNCTION, FLOOR_IMAGE_FUNCTION):
                    floor_rows[mode] = figures
                else:
                    rows.append(figures)
    finally:
        removed = floor.stop()
        for stage in stages:
            removed += lambda_target.destroy(get_stage(stage), options(previous or "plain"), keep_data=False)
        if env == "aws":
            say(f"✓ removed from AWS: {len(removed)} resources of this run (functions, roles, logs, packages, tables)")
    return floor_rows, rows


# --- processes: local, ECS, EKS -----------------------------------------------------------------------------


@dataclass
class ProcessSubject:
    stage: str
    service: str
    target: str
    argv: list[str]
    env: dict[str, str]
    health_path: str = "/health"
    request_path: str = "/users?limit=1"
    files: dict[str, str] = field(default_factory=dict)


def floor_process(aws: localaws.LocalAws, target: str) -> ProcessSubject:
    """The floor as a container command (the same form as an ECS task definition's)."""
    tables = TableNames.for_deployment("floor-process")
    ensure_tables(tables)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "USERS_TABLE")}
    env.update({**aws.environ(), "PYTHONPATH": str(FLOOR_DIR.parent), "USERS_TABLE": tables.users})
    argv = ["python", "-m", "uvicorn", FLOOR_ASGI, "--host", "0.0.0.0", "--port", "8080"]
    return ProcessSubject("floor", "app", target, argv, env)


def _spec_for(stage: Stage, service: Service, deployment: str) -> Spec:
    path = manifest_dir(deployment) / f"{naming.resource_name(stage, service)}.spec.json"
    if not path.exists():
        raise ShopctlError(f"no local spec {path} after deploying {deployment}", "did the deploy code change?")
    return Spec(**json.loads(path.read_text()))


@contextlib.contextmanager
def process_subjects(stage_name: str, target: str, aws: localaws.LocalAws) -> Iterator[list[ProcessSubject]]:
    """What `target` runs for each of the stage's services (deployed for real locally, destroyed after)."""
    stage = get_stage(stage_name)
    if target == "local":
        tables = TableNames.for_deployment(f"{stage.name}-compare")
        ensure_tables(tables)
        config = run.publish_config("LAMBDA", tables, f"{stage.name}-compare")
        subjects = []
        for service in stage.app_services():
            # The orders-service's first request (a list) never calls users: any URL satisfies its config.
            upstreams = {f"{up.upper()}_SERVICE_URL": "http://127.0.0.1:9" for up in service.upstreams}
            env = base_environ(stage.name, {**aws.environ(), **config, **upstreams})
            argv = uvicorn_argv(service.asgi, 0, access_log=False)
            subjects.append(
                ProcessSubject(stage.name, service.name, target, argv, env, request_path=request_path(service))
            )
        yield subjects
        return
    module = {"ecs": ecs_target, "eks": eks_target}[target]
    options = (
        ecs_target.Options(env="local", port=free_port(), quiet=True, desired_count=1)
        if target == "ecs"
        else eks_target.Options(env="local", port=free_port(), quiet=True, replicas=1)
    )
    try:
        module.deploy(stage, options)
        subjects = []
        for service in stage.app_services():
            spec = _spec_for(stage, service, module.deployment_name(stage))
            subjects.append(
                ProcessSubject(
                    stage.name,
                    service.name,
                    target,
                    list(spec.argv),
                    dict(spec.env),
                    spec.health_path,
                    request_path(service),
                    dict(spec.files),
                )
            )
        yield subjects
    finally:
        registry.destroy(module, stage, options, keep_data=False)


def process_run(subject: ProcessSubject, *, warm: int, logs: Path, client: httpx.Client) -> tuple[float, float, list]:
    """One fresh start: (ms to the first healthy answer, ms of the first request, warm request ms)."""
    write_files(subject.files)
    log = logs / f"{subject.stage}-{subject.service}-{subject.target}.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    popen = start_replica(subject.argv, subject.env, port, log)
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url + subject.health_path, timeout=1.0).status_code == 200:
                    break
            if popen.poll() is not None or time.perf_counter() - started > HEALTH_TIMEOUT_S:
                raise ShopctlError(
                    f"{subject.stage}/{subject.service} on {subject.target} did not become healthy", f"see {log}"
                )
            time.sleep(0.01)
        healthy = (time.perf_counter() - started) * 1000
        begin = time.perf_counter()
        response = client.get(url + subject.request_path)
        first = (time.perf_counter() - begin) * 1000
        if response.status_code != 200:
            raise ShopctlError(
                f"{subject.stage}/{subject.service} on {subject.target}: GET {subject.request_path} "
                f"answered {response.status_code}",
                f"see {log}",
            )
        warm_ms = []
        for _ in range(warm):
            begin = time.perf_counter()
            client.get(url + subject.request_path)
            warm_ms.append((time.perf_counter() - begin) * 1000)
        return healthy, first, warm_ms
    finally:
        localaws.terminate(popen.pid)


def measure_processes(
    subjects: list[ProcessSubject], *, n: int, warm: int, logs: Path, say: Callable[[str], None]
) -> list[dict]:
    """N fresh starts of each subject, interleaved (run i of all before run i+1), as for Lambda."""
    seen: list[dict[str, list[float]]] = [{"healthy": [], "first": [], "warm": []} for _ in subjects]
    with httpclient.client(timeout=10.0) as client:
        for i in range(1, n + 1):
            for subject, figures in rotated(list(zip(subjects, seen, strict=True)), i - 1):
                healthy, first, warm_ms = process_run(subject, warm=warm, logs=logs, client=client)
                figures["healthy"].append(healthy)
                figures["first"].append(first)
                figures["warm"] += warm_ms
                say(
                    f"    run {i}/{n} {subject.stage}/{subject.service} on {subject.target}: healthy after "
                    f"{healthy:.0f} ms, first request {first:.0f} ms"
                )
    out = []
    for figures in seen:
        warm_ms = figures["warm"]
        out.append(
            {
                "healthy_ms": summary(figures["healthy"]),
                "first_request_ms": summary(figures["first"]),
                # What a caller waits for after a restart: the stages differ in *when* they read their
                # configuration and create clients (at start, or on the first request), so neither half alone
                # compares them.
                "start_to_first_response_ms": summary(
                    [h + f for h, f in zip(figures["healthy"], figures["first"], strict=True)]
                ),
                "warm_p50_ms": round(percentile(warm_ms, 50), 2) if warm_ms else None,
                "warm_p99_ms": round(percentile(warm_ms, 99), 2) if warm_ms else None,
            }
        )
    return out


# --- import time ------------------------------------------------------------------------------------------

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def parse_importtime(stderr: str) -> dict[str, float]:
    """Self time (ms) per top-level package from `-X importtime` output."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            top = match[4].split(".")[0]
            totals[top] = totals.get(top, 0.0) + int(match[1]) / 1000
    return totals


def unzipped(package: Package) -> Path:
    """The package unzipped, as the local Lambda lays out a task root (cached by content, like the builds)."""
    digest = hashlib.sha256(package.data).hexdigest()[:16]
    return extract(package.data, build_root() / "unzipped" / f"{package.path.stem}-{digest}")


def import_breakdown(package: Package, module: str, env: dict[str, str], *, top: int = 8) -> dict:
    root = unzipped(package)
    code = f"import sys; sys.path[:0] = [{str(root)!r}]; import {module}"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-X", "importtime", "-c", code],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise ShopctlError(f"importing {module} from {package.path.name} failed", result.stderr.strip()[-300:])
    totals = parse_importtime(result.stderr)
    total = sum(totals.values())
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {
        "module": module,
        "total_ms": round(total, 1),
        "top": [
            {
                "package": name,
                "self_ms": round(ms, 1),
                "share": round(ms / total, 3) if total else 0.0,
                "stdlib": name in sys.stdlib_module_names,
            }
            for name, ms in ranked[:top]
        ],
    }


def lambda_env(aws_environ: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    return {**aws_environ, "RUNTIME": "LAMBDA", "PATH": os.environ.get("PATH", ""), **variables}


def offline_environ() -> dict[str, str]:
    """ENV=aws: importing a handler must not reach the account (no stage calls AWS at import; if one
    started to, it would fail here instead of touching real resources)."""
    region = clients.region() or localaws.REGION
    return {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_DEFAULT_REGION": region,
    }


def import_times(
    stages: list[str], aws_environ: dict[str, str], say: Callable[[str], None], *, floor: bool = True
) -> dict:
    platform = Platform.local()
    out = {}
    tables = TableNames.for_deployment("importtime")
    say("… import-time breakdown of each handler in its plain package (-X importtime)")
    if floor:
        out["floor"] = import_breakdown(
            floor_package(platform, optimize=False),
            "floor_app.main",
            lambda_env(aws_environ, {"USERS_TABLE": tables.users}),
        )
    for stage_name in stages:
        stage = STAGES[stage_name]
        for service in lambda_target.lambda_services(stage):
            package = build(stage, service, platform, quiet=True)
            module = service.handler.rsplit(".", 1)[0]
            variables = naming.table_env(service, tables)
            variables.update({f"{up.upper()}_SERVICE_URL": "http://127.0.0.1:9" for up in service.upstreams})
            label = stage.name if len(stage.app_services()) == 1 else f"{stage.name}/{service.name}"
            out[label] = import_breakdown(package, module, lambda_env(aws_environ, variables))
    return out


# --- the whole section ------------------------------------------------------------------------------------


def clear_run_dir(run: Path) -> int:
    """Stop what an earlier, interrupted run left behind (its deployments' processes) and forget it: a
    deploy keeps a live process it finds in its state, which would then talk to that run's local AWS."""
    if not run.exists():
        return 0
    stopped = sum(len(stop_processes(deployment)) for deployment in state.all_states())
    for pid_file in run.glob("moto-*.pid"):  # its local AWS, by the pid it recorded
        with contextlib.suppress(ValueError):
            stopped += localaws.stop(int(pid_file.stem.removeprefix("moto-")), quiet=True)
    shutil.rmtree(run, ignore_errors=True)
    return stopped


def measure(
    *,
    stages: list[str],
    targets: list[str],
    n: int,
    warm: int,
    modes: tuple[str, ...],
    work: Path,
    say: Callable[[str], None] = print,
    aws: localaws.LocalAws | None = None,
    floor_modes: tuple[str, ...] | None = None,
    floor_importtime: bool = True,
    env: str = "local",
    python: str = lambda_target.Options.python,
    importtime: bool = True,
) -> dict[str, Any]:
    """Measure everything against a local AWS of our own (free port, own run dir), or against `aws`.

    env="aws": the Lambda cold starts run in the account boto3 is configured for (the caller checked the
    credentials and asked for confirmation); containers are only measured locally."""
    if env == "aws" and [t for t in targets if t != "lambda"]:
        raise ShopctlError(
            "ENV=aws measures Lambda cold starts only",
            "use COMPARE_TARGETS=lambda with ENV=aws; ECS/EKS/local starts are measured with ENV=local",
        )
    if env == "aws" and [m for m in modes if m not in AWS_MODES]:
        raise ShopctlError(
            "ENV=aws measures plain, optimized and snapstart (the floor has no image to compare the image with)",
            "use MODES=plain,optimized,snapstart; time a stage's image with make coldstart PACKAGE=image ENV=aws",
        )
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    with temporary_environment(SHOP_RUN_DIR=str(work / "run")):  # where an earlier run kept its records
        leftovers = clear_run_dir(work / "run")
    if leftovers:
        say(f"  stopped {leftovers} process(es) left over by an interrupted earlier run")
    # The measurements' own run directory, and a local AWS of their own unless the caller passes one.
    environment = contextlib.ExitStack()
    if aws is None and env == "local":
        aws = environment.enter_context(localaws.private_local_aws(work / "run"))
        say(f"✓ local AWS for the measurements at {aws.endpoint}")
    else:
        environment.enter_context(localaws.restored_environment())
        os.environ["SHOP_RUN_DIR"] = str(work / "run")
        if aws is not None:
            aws.use()
    try:
        methods = dict(METHODS)
        if env == "aws":
            region = clients.region()
            methods["lambda"] = METHODS["lambda_aws"].format(
                runtime=f"python{python}", memory=lambda_target.MEMORY_MB, region=region
            )
        result: dict[str, Any] = {
            "n": n,
            "warm": warm,
            "stages": stages,
            "targets": targets,
            "env": env,
            "methods": methods,
        }
        say(f"… floor: bare Python start x{max(n, 3)}")
        result["bare_python_ms"] = bare_python(max(n, 3))
        floor: dict[str, Any] = {}
        lambda_rows: list[dict] = []
        if "lambda" in targets:
            floor["lambda"], lambda_rows = measure_lambda(
                stages,
                modes,
                floor_modes or modes,
                n=n,
                warm=warm,
                logs=logs,
                say=say,
                env=env,
                python=python,
            )
            for row in lambda_rows:
                # Same package variant as the floor when both were measured, else the plain floor.
                row["floor_variant"] = row["variant"] if row["variant"] in floor["lambda"] else "plain"
                floor_row = floor["lambda"].get(row["floor_variant"], {})
                paired = row["floor_variant"] == row["variant"]  # measured in the same rounds
                row["init_ratio"] = ratio(row["init_ms"], floor_row.get("init_ms"), paired=paired)
                row["cold_request_ratio"] = ratio(
                    row["cold_request_ms"], floor_row.get("cold_request_ms"), paired=paired
                )
                if paired:
                    row["cold_request_ratio_range"] = round_ratios(row["cold_request_ms"], floor_row["cold_request_ms"])
                if row.get("restore_ms") and floor_row.get("restore_ms"):  # SnapStart beside the floor's restore
                    row["restore_ratio"] = ratio(row["restore_ms"], floor_row["restore_ms"], paired=paired)
        result["lambda"] = lambda_rows
        result["lambda_modes"] = modes_table({"lambda": lambda_rows, "floor": floor})

        process_rows: list[dict] = []
        floor["process"] = {}
        for target in [t for t in targets if t in PROCESS_TARGETS]:
            assert aws is not None  # process targets are local (checked above)
            say(f"… {target}: deploying {', '.join(stages)}; {n} fresh starts of each container command, interleaved")
            with contextlib.ExitStack() as stack:
                subjects = [floor_process(aws, target)]
                for stage in stages:
                    subjects += stack.enter_context(process_subjects(stage, target, aws))
                measured = measure_processes(subjects, n=n, warm=warm, logs=logs, say=say)
            floor_figures = floor["process"][target] = measured[0]
            for subject, figures in zip(subjects[1:], measured[1:], strict=True):
                process_rows.append(
                    {
                        "stage": subject.stage,
                        "service": subject.service,
                        "target": target,
                        "health_path": subject.health_path,
                        "path": subject.request_path,
                        **figures,
                        "healthy_ratio": ratio(figures["healthy_ms"], floor_figures["healthy_ms"], paired=True),
                        "ratio": ratio(
                            figures["start_to_first_response_ms"],
                            floor_figures["start_to_first_response_ms"],
                            paired=True,
                        ),
                    }
                )
        result["floor"] = floor
        result["process"] = process_rows
        if "lambda" in targets and importtime:  # off for notebook 05's side-by-side run: minutes count there
            aws_environ = aws.environ() if aws is not None else offline_environ()
            result["importtime"] = import_times(stages, aws_environ, say, floor=floor_importtime)
        result["goals"] = goals(result)
        return result
    finally:
        environment.close()


def _entry_rows(rows: list[dict], variant: str) -> dict[str, list[dict]]:
    by_stage: dict[str, list[dict]] = {}
    for row in rows:
        if row["variant"] == variant:
            by_stage.setdefault(row["stage"], []).append(row)
    return by_stage


def _median(stats: dict | None) -> float | None:
    return stats["median"] if stats else None


def _over(value: dict | None, base: dict | None) -> float | None:
    """The ratio of two medians (None when either is missing)."""
    return round(value["median"] / base["median"], 3) if value and base and base["median"] else None


def function_label(row: dict, rows: list[dict]) -> str:
    """The stage for a one-function stage, `stage/service` for the microservices' functions."""
    functions = {r["function"] for r in rows if r["stage"] == row["stage"]}
    return row["stage"] if len(functions) == 1 else f"{row['stage']}/{row['service']}"


def modes_table(cold: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """report.json's `lambda_modes`: {function label: {mode: figures}}, the floor first.

    x_plain_zip: the mode's median cold request over the plain ZIP's (same function); x_floor: the ratio to the
    floor in the same mode when it was measured (per round), else to the plain floor."""
    rows = cold.get("lambda", [])
    floor = cold.get("floor", {}).get("lambda", {})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if floor:
        plain_floor = floor.get("plain", {}).get("cold_request_ms")
        out["floor"] = {
            mode: {
                "function": FLOOR_IMAGE_FUNCTION if mode == "image" else FLOOR_FUNCTION,
                "cold_request_ms": _median(row["cold_request_ms"]),
                "init_ms": _median(row["init_ms"]),
                "restore_ms": _median(row.get("restore_ms")),
                "warm_p50_ms": row["warm_p50_ms"],
                "x_plain_zip": _over(row["cold_request_ms"], plain_floor),
                "x_floor": 1.0,
                "floor_mode": mode,
            }
            for mode, row in floor.items()
        }
    plain = {r["function"]: r for r in rows if r["variant"] == "plain"}
    for row in rows:
        base = plain.get(row["function"])
        out.setdefault(function_label(row, rows), {})[row["variant"]] = {
            "function": row["function"],
            "cold_request_ms": _median(row["cold_request_ms"]),
            "init_ms": _median(row["init_ms"]),
            "restore_ms": _median(row.get("restore_ms")),
            "warm_p50_ms": row["warm_p50_ms"],
            "x_plain_zip": _over(row["cold_request_ms"], base["cold_request_ms"]) if base else None,
            "x_floor": row.get("cold_request_ratio"),
            "floor_mode": row.get("floor_variant"),
        }
    return out


SNAPSTART_LIMIT = 0.25  # SnapStart's cold request (the restore) at most this share of the plain ZIP's
IMAGE_LIMIT = 1.2  # the Web Adapter image's cold request at most this multiple of the plain ZIP's


def goals(result: dict[str, Any]) -> dict[str, Any]:
    """The performance goals of section 4, evaluated on this run's figures (reported, never asserted)."""
    rows = result.get("lambda", [])
    plain = _entry_rows(rows, "plain")
    optimized = _entry_rows(rows, "optimized")
    out: dict[str, Any] = {
        "floor_ratio_limit": 1.10,
        "clean_vs_monolith_limit": 1.05,
        "optimized_gain_goal": 0.30,
        "snapstart_limit": SNAPSTART_LIMIT,
        "image_limit": IMAGE_LIMIT,
    }
    for mode, limit in (("snapstart", SNAPSTART_LIMIT), ("image", IMAGE_LIMIT)):
        checks = []
        for stage, stage_rows in _entry_rows(rows, mode).items():
            for row in stage_rows:
                before = next((r for r in plain.get(stage, []) if r["function"] == row["function"]), None)
                versus = _over(row["cold_request_ms"], before["cold_request_ms"]) if before else None
                if versus is None:
                    continue
                check = {"function": row["function"], "stage": stage, "ratio": versus, "met": versus <= limit}
                if mode == "snapstart":  # the Restore Duration alone, over the plain cold request
                    check["restore_ratio"] = _over(row.get("restore_ms"), before["cold_request_ms"])
                checks.append(check)
        out[mode] = checks
    floor_checks = []
    for stage, stage_rows in plain.items():
        for row in stage_rows:
            if row["cold_request_ratio"] is not None:
                floor_checks.append(
                    {
                        "function": row["function"],
                        "ratio": row["cold_request_ratio"],
                        "met": row["cold_request_ratio"] <= 1.10,
                        "stage": stage,
                    }
                )
    out["floor"] = floor_checks
    if "clean" in plain and "monolith" in plain:
        # Measured in the same rounds: the median of the per-round ratios, as for the floor.
        versus = ratio(plain["clean"][0]["cold_request_ms"], plain["monolith"][0]["cold_request_ms"], paired=True)
        if versus is not None:
            out["clean_vs_monolith"] = {"ratio": versus, "met": versus <= 1.05}
    gains = []
    for stage, stage_rows in optimized.items():
        for row in stage_rows:
            before = next((r for r in plain.get(stage, []) if r["function"] == row["function"]), None)
            if before is None:  # the plain ZIP was not measured (MODES=…)
                continue
            gain = 1 - row["cold_request_ms"]["median"] / before["cold_request_ms"]["median"]
            init_gain = (
                1 - row["init_ms"]["median"] / before["init_ms"]["median"]
                if row["init_ms"] and before["init_ms"]
                else None
            )
            gains.append(
                {
                    "function": row["function"],
                    "stage": stage,
                    "cold_request_gain": round(gain, 3),
                    "init_gain": round(init_gain, 3) if init_gain is not None else None,
                    "size_gain": round(1 - row["package"]["zipped_mb"] / before["package"]["zipped_mb"], 3),
                    "met": gain >= 0.30,
                }
            )
    out["optimized"] = gains
    return out
