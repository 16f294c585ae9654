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
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shopctl.aws import clients, state
from shopctl.compare.figures import median_of, ratio, ratio_of_medians, round_ratios
from shopctl.compare.floor import FLOOR_FUNCTION, FLOOR_IMAGE_FUNCTION, FloorLambda, bare_python, floor_process
from shopctl.compare.goals import goals
from shopctl.compare.importtime import import_times, offline_environ
from shopctl.compare.lambda_subjects import (
    AWS_MODES,
    MODE_NAMES,
    deploy_stage_lambda,
    mode_options,
    needs_fresh_deploy,
    round_robin_lambda,
)
from shopctl.compare.process_subjects import PROCESS_TARGETS, measure_processes, process_subjects
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.local.deployment import stop_processes
from shopctl.local.net import free_port
from shopctl.local.process import temporary_environment
from shopctl.stages import get_stage
from shopctl.targets import lambda_target

TARGETS = ("lambda", *PROCESS_TARGETS)

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
    "restores a new environment from that snapshot (REPORT: Restore Duration, no Init Duration). "
    "`x this function's plain ZIP` = "
    "the mode's median cold request / the plain ZIP's median of the same function (measured in another block of "
    "the run: a ratio of medians); `x floor in the same mode` = per round, to the floor deployed the "
    "same way (floor_app with SnapStart; floor_app's uvicorn command as the image function's "
    "ImageConfig.Command); shown only where the floor was measured in that mode (the quick run and notebook 05 "
    "measure it as the plain ZIP only).",
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
    "same run. `x floor` = the median over the rounds of (the stage's run i / the floor's run i), both measured "
    "side by side, in brackets the lowest and highest of those per-round ratios (Lambda: the floor deployed in "
    "the same mode; containers: the floor on the same target). Spreads that overlap are within noise.",
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
                "cold_request_ms": median_of(row["cold_request_ms"]),
                "init_ms": median_of(row["init_ms"]),
                "restore_ms": median_of(row.get("restore_ms")),
                "warm_p50_ms": row["warm_p50_ms"],
                "x_plain_zip": ratio_of_medians(row["cold_request_ms"], plain_floor),
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
            "cold_request_ms": median_of(row["cold_request_ms"]),
            "init_ms": median_of(row["init_ms"]),
            "restore_ms": median_of(row.get("restore_ms")),
            "warm_p50_ms": row["warm_p50_ms"],
            "x_plain_zip": ratio_of_medians(row["cold_request_ms"], base["cold_request_ms"]) if base else None,
            "x_floor": row.get("cold_request_ratio"),
            "floor_mode": row.get("floor_variant"),
        }
    return out


