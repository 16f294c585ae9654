"""`make verify` faults: what each stage does when its dependencies fail, on each target.

- **dynamodb**: the deployment reaches the local AWS through `shopctl.local.faultproxy`, which is told to
  throttle DynamoDB (ThrottlingException), drop its connections, hang (no answer), or refuse connections
  altogether. Every request made meanwhile must be a 503 with `Retry-After` and a JSON `detail`; the
  tables must be exactly as before the fault (read directly from the local AWS); and once the proxy
  passes traffic again, the same processes must serve a create (recovery without restart).
- **users-service down** (microservices): an orders-service whose users-service is a closed port, or
  one that accepts connections and never answers. `POST /orders` must be a 503 with `Retry-After`
  within the client timeout (USERS_SERVICE_TIMEOUT, here 1 s), and no order may be stored.
- **startup**: each of the stage's processes started the way uvicorn starts it, with broken
  configuration (missing SSM parameter, missing or invalid EKS config file, missing env var, unknown
  RUNTIME): it must exit by itself, non-zero, with exactly one line naming what is missing.
- **lambda init** (target lambda): the deployed function's configuration loses a table variable; every
  invoke must be Lambda's 502 `{"Message": "Internal Server Error"}` (each one a fresh init attempt),
  the one-line reason must be in the function's CloudWatch Logs, and restoring the variable must bring
  it back without redeploying.

The environment must point at the local AWS (AWS_ENDPOINT_URL), as for every `make verify` check.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx

from shopctl import httpclient
from shopctl.aws import clients, resources
from shopctl.lambda_local.testing import wait_for_logs
from shopctl.local import faultproxy, localaws
from shopctl.local.net import free_port, wait_healthy
from shopctl.local.process import base_environ, spawn, uvicorn_argv
from shopctl.serving import Deployed, serve
from shopctl.stages import Service, get_stage
from shopctl.targets import lambda_target
from shopctl.verify.result import Result

FULL_MODES = ("throttle", "drop", "hang", "refuse")
REDUCED_MODES = ("throttle", "drop")
HANG_S = 3.0  # longer than the apps' 2 s DynamoDB read timeout
STARTUP_DEADLINE_S = 30.0  # "at once" is seconds; a process still running after this never noticed
USERS_TIMEOUT_S = 1.0


def run(stage: str, target: str, *, reduced: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix=f"verify-faults-{stage}-{target}-") as scratch:
        logs = Path(scratch)
        modes = REDUCED_MODES if reduced else FULL_MODES
        if target != "local":
            modes = tuple(m for m in modes if m != "refuse")  # the platform's own AWS calls would fail too
        results = [dynamodb_faults(stage, target, modes, logs, reads=not reduced)]
        if stage == "microservices" and target == "local":
            results.append(
                users_service_down(logs, requests=1, scenarios=("not answering",))
                if reduced
                else users_service_down(logs)
            )
        if target == "local":
            results.append(startup(stage, reduced=reduced, logs=logs))
        if target == "lambda":
            results.append(lambda_init_failure(stage, logs))
        return results


def local_aws_endpoint() -> str:
    return localaws.from_environment().endpoint


# --- DynamoDB throttled, dropped, hanging, refused --------------------------------------------------------


@contextlib.contextmanager
def served_through(stage: str, target: str, proxy: faultproxy.FaultProxy, logs: Path) -> Iterator[Deployed]:
    """Serve `stage` on `target` with every process's AWS endpoint being the fault proxy."""
    if target == "local":
        with serve(stage, "local", localaws.LocalAws(proxy.port, None), logs=logs) as deployed:
            yield deployed
        return
    # The deploy code hands its own AWS_ENDPOINT_URL to what it starts (local Lambda, tasks, pods).
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint
    try:
        with serve(stage, target, localaws.LocalAws(proxy.port, None), logs=logs) as deployed:
            yield deployed
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved


def table_ids(tables: resources.TableNames, endpoint: str) -> dict[str, set[str]]:
    """Every item id in the deployment's tables, read from the local AWS directly (not through the proxy)."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    found: dict[str, set[str]] = {}
    for kind, table in (("users", tables.users), ("orders", tables.orders)):
        ids: set[str] = set()
        for page in client.get_paginator("scan").paginate(TableName=table, ProjectionExpression="id"):
            ids |= {item["id"]["S"] for item in page["Items"]}
        found[kind] = ids
    return found


def unavailable_problem(response: httpx.Response) -> str | None:
    """None if `response` is the contract's 503; otherwise what is wrong with it."""
    if response.status_code != 503:
        return f"HTTP {response.status_code}: {response.text[:120]}"
    retry_after = response.headers.get("retry-after", "")
    if not retry_after.isdigit():
        return f"503 without a numeric Retry-After (got {retry_after!r})"
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return None if detail else f"503 without a JSON detail: {response.text[:120]}"


def dynamodb_faults(stage: str, target: str, modes: tuple[str, ...], logs: Path, *, reads: bool = True) -> Result:
    result = Result("faults: dynamodb", stage, target)
    endpoint = local_aws_endpoint()
    logs.mkdir(parents=True, exist_ok=True)
    slowest = 0.0
    with (
        faultproxy.running(endpoint, log=logs / "faultproxy.log") as proxy,
        served_through(stage, target, proxy, logs) as deployed,
        httpclient.client(base_url=deployed.base_url, timeout=30.0) as api,
    ):
        created = api.post("/users", json={"name": "Fault Tester", "email": "fault@example.com"})
        if created.status_code != 201:
            result.fail(f"could not create a user before the faults: HTTP {created.status_code}")
            return result
        user_id = created.json()["id"]
        for mode in modes:
            before = table_ids(deployed.tables, endpoint)
            proxy.set(mode, HANG_S)
            attempts: list[tuple[str, str, dict[str, Any]]] = [
                ("POST", "/users", {"json": {"name": "Never Stored", "email": "never@example.com"}}),
                ("POST", "/orders", {"json": {"user_id": user_id, "product": "Never stored", "quantity": 1}}),
            ]
            if reads and mode != "hang":  # reads too (hanging reads only cost time: the writes prove the point)
                attempts += [("GET", f"/users/{user_id}", {}), ("GET", "/orders", {"params": {"user_id": user_id}})]
            for method, path, extra in attempts:
                result.tried += 1
                started = time.monotonic()
                try:
                    response = api.request(method, path, **extra)
                except httpx.HTTPError as error:
                    result.fail(f"{mode}: {method} {path}: no response ({type(error).__name__})")
                    continue
                slowest = max(slowest, time.monotonic() - started)
                if problem := unavailable_problem(response):
                    result.fail(f"{mode}: {method} {path}: {problem}")
            proxy.set("pass")
            result.tried += 1
            after = table_ids(deployed.tables, endpoint)
            if after != before:
                extra_ids = {k: sorted(after[k] - before[k]) for k in after if after[k] != before[k]}
                result.fail(f"{mode}: the tables changed while DynamoDB failed: {extra_ids}")
            result.tried += 1
            if not recovers(api):
                result.fail(f"{mode}: no 201 within 15 s after DynamoDB came back (same processes)")
        counts = proxy.stats()
    faulted = counts["throttled"] + counts["dropped"] + counts["hung"]
    result.figures = {"slowest_503_s": round(slowest, 2), "faulted_dynamodb_calls": faulted}
    if faulted == 0:
        result.fail("the proxy faulted no DynamoDB call: the deployment did not go through it")
    return result


def recovers(api: httpx.Client, within: float = 15.0) -> bool:
    """A create succeeds again, retrying as the 503s' Retry-After says."""
    deadline = time.monotonic() + within
    while True:
        response = api.post("/users", json={"name": "Back Again", "email": "back@example.com"})
        if response.status_code == 201:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(float(response.headers.get("retry-after", "1") or 1))


# --- users-service down or not answering (microservices) -------------------------------------------------


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung neighbour)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def users_service_down(
    logs: Path, *, requests: int = 3, scenarios: tuple[str, ...] = ("down", "not answering")
) -> Result:
    result = Result("faults: users-service down", "microservices", "local")
    endpoint = local_aws_endpoint()
    stage = get_stage("microservices")
    orders = stage.service("orders")
    tables = resources.TableNames.for_deployment(f"verify-users-down-{uuid.uuid4().hex[:8]}")
    resources.ensure_tables(tables)
    slowest = 0.0
    try:
        with silent_server() as silent:
            urls = {"down": closed_port(), "not answering": silent}
            for scenario in scenarios:
                users_url = urls[scenario]
                port = free_port()
                env = {
                    **localaws.from_environment().environ(),
                    **resources.runtime_environment("LAMBDA", tables.settings()),
                    "USERS_SERVICE_URL": users_url,
                    "USERS_SERVICE_TIMEOUT": str(USERS_TIMEOUT_S),
                }
                log = logs / f"orders-{scenario.replace(' ', '-')}.log"
                proc = spawn("orders", uvicorn_argv(orders.asgi, port, access_log=False),
                             base_environ(stage.name, env), log)
                try:
                    base = f"http://127.0.0.1:{port}"
                    if not wait_healthy(f"{base}/health", 30, proc.alive):
                        result.fail(f"{scenario}: the orders-service did not start: {proc.log_tail(3)}")
                        continue
                    body = {"user_id": str(uuid.uuid4()), "product": "Mug", "quantity": 1}
                    for _ in range(requests):
                        result.tried += 1
                        started = time.monotonic()
                        response = httpclient.post(f"{base}/orders", json=body, timeout=30)
                        elapsed = time.monotonic() - started
                        slowest = max(slowest, elapsed)
                        if problem := unavailable_problem(response):
                            result.fail(f"{scenario}: POST /orders: {problem}")
                        elif elapsed > USERS_TIMEOUT_S * 3 + 5:  # a hang, not noise: the client timeout is 1 s
                            result.fail(f"{scenario}: the 503 took {elapsed:.1f}s (timeout {USERS_TIMEOUT_S}s)")
                finally:
                    proc.stop()
        result.tried += 1
        stored = table_ids(tables, endpoint)["orders"]
        if stored:
            result.fail(f"orders were stored although the users-service never answered: {sorted(stored)}")
    finally:
        resources.delete_tables(tables)
    result.figures = {"slowest_503_s": round(slowest, 2)}
    return result


# --- startup with broken configuration ------------------------------------------------------------------


def startup_cases(service: Service, scratch: Path, *, reduced: bool) -> list[tuple[str, dict[str, str], str]]:
    """(what is broken, the environment, text the one-line message must contain).

    Reduced: one case per process, chosen from its name so that the stages together still cover SSM,
    the config file, environment variables and an unknown RUNTIME.
    """
    prefix = f"/verify-missing-{uuid.uuid4().hex[:8]}"
    invalid = scratch / f"invalid-{service.name}.json"
    invalid.write_text("{not json")
    missing_file = str(scratch / "no-such-dir" / "config.json")
    last = service.settings[-1]  # e.g. "orders/table"
    env_name = resources.env_name(last)
    lambda_env = {resources.env_name(k): "shop-table" for k in service.settings if k != last}
    cases = [
        ("ECS: SSM parameter missing", {"RUNTIME": "ECS", "SSM_PREFIX": prefix}, prefix),
        ("EKS: config file invalid", {"RUNTIME": "EKS", "CONFIG_FILE": str(invalid)}, str(invalid)),
        ("EKS: config file missing", {"RUNTIME": "EKS", "CONFIG_FILE": missing_file}, missing_file),
        ("LAMBDA: env var missing", {"RUNTIME": "LAMBDA", **lambda_env}, env_name),
        ("RUNTIME unknown", {"RUNTIME": "FARGATE"}, "FARGATE"),
    ]
    if service.upstreams:  # the orders-service also needs to know where the users-service is
        tables = {resources.env_name(k): "shop-table" for k in service.settings}
        cases.append(("upstream URL missing", {"RUNTIME": "LAMBDA", **tables}, "USERS_SERVICE_URL"))
    if reduced:
        return [cases[sum(map(ord, service.asgi)) % len(cases)]]
    return cases


def startup(stage_name: str, *, reduced: bool, logs: Path) -> Result:
    return startup_many([stage_name], reduced=reduced, logs=logs)[0]


def startup_many(stage_names: list[str], *, reduced: bool, logs: Path) -> list[Result]:
    """Start every broken process of these stages at once, then wait for each to exit by itself."""
    aws_env = localaws.from_environment().environ()
    started = []
    for stage_name in stage_names:
        stage = get_stage(stage_name)
        for service in stage.app_services():
            for index, (case, env, expected) in enumerate(startup_cases(service, logs, reduced=reduced)):
                log = logs / f"startup-{stage_name}-{service.name}-{index}.log"
                argv = uvicorn_argv(service.asgi, free_port(), access_log=False)
                proc = spawn(service.name, argv, base_environ(stage.name, {**aws_env, **env}), log)
                started.append((stage_name, f"{service.name}: {case}", expected, proc, log, time.monotonic()))
    results = {name: Result("faults: startup", name, "local") for name in stage_names}
    slowest = dict.fromkeys(stage_names, 0.0)
    for stage_name, label, expected, proc, log, began in started:
        result = results[stage_name]
        result.tried += 1
        try:
            proc.popen.wait(timeout=max(0.1, began + STARTUP_DEADLINE_S - time.monotonic()))
        except subprocess.TimeoutExpired:  # still running: it did not notice its configuration is broken
            proc.stop()
            result.fail(f"{label}: still running after {STARTUP_DEADLINE_S:.0f}s")
            continue
        slowest[stage_name] = max(slowest[stage_name], time.monotonic() - began)
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if proc.popen.returncode == 0:
            result.fail(f"{label}: exited with status 0")
        elif len(lines) != 1 or expected not in lines[0]:
            result.fail(f"{label}: expected one line naming {expected!r}, got {len(lines)}: {lines[-1:]}")
    for name, result in results.items():
        result.figures = {"slowest_exit_s": round(slowest[name], 2)}
    return list(results.values())


# --- Lambda: a function whose init fails -----------------------------------------------------------------


def lambda_init_failure(stage_name: str, logs: Path) -> Result:
    """Break a deployed function's configuration: Lambda's 502 on every invoke, back once fixed."""
    result = Result("faults: lambda init", stage_name, "lambda")
    stage = get_stage(stage_name)
    service = lambda_target.lambda_services(stage)[0]  # the one serving /users
    function = lambda_target.function_name(stage, service)
    aws = localaws.from_environment()
    with serve(stage_name, "lambda", aws, logs=logs) as deployed, httpclient.client(
        base_url=deployed.base_url, timeout=30.0
    ) as api:
        client = clients.client("lambda")
        variables = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
        broken = {k: v for k, v in variables.items() if k != "USERS_TABLE"}
        client.update_function_configuration(FunctionName=function, Environment={"Variables": broken})
        try:
            responses = poll(api, lambda r: r.status_code == 502, count=3)
            for response in responses:
                result.tried += 1
                if response.status_code != 502 or response.json() != {"Message": "Internal Server Error"}:
                    result.fail(f"broken init: HTTP {response.status_code} {response.text[:120]}")
        finally:
            client.update_function_configuration(FunctionName=function, Environment={"Variables": variables})
        result.tried += 1
        if poll(api, lambda r: r.status_code == 200, count=1)[-1].status_code != 200:
            result.fail("the function did not come back after its configuration was fixed")
        result.tried += 1  # the one-line reason reached CloudWatch Logs, where an operator looks
        messages = wait_for_logs(function, lambda found: any("cannot start" in m and "USERS_TABLE" in m for m in found))
        if not any("cannot start" in m and "USERS_TABLE" in m for m in messages):
            result.fail(f"no 'cannot start … USERS_TABLE' line in /aws/lambda/{function}")
    return result


def poll(api: httpx.Client, wanted: Any, *, count: int, within: float = 15.0) -> list[httpx.Response]:
    """Wait (the local Lambda re-reads its configuration every second) for `wanted`, then `count` answers."""
    deadline = time.monotonic() + within
    response = api.get("/users", params={"limit": 1})
    while not wanted(response) and time.monotonic() < deadline:
        time.sleep(0.3)
        response = api.get("/users", params={"limit": 1})
    answers = [response]
    while len(answers) < count:
        answers.append(api.get("/users", params={"limit": 1}))
    return answers

