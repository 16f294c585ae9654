"""The container subjects (local, ECS, EKS): the command a target runs, started as a fresh process N times,
timed to its first healthy answer and its first request."""


import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shopctl import httpclient
from shopctl.aws.resources import TableNames, ensure_tables
from shopctl.compare.figures import percentile, rotated, summary
from shopctl.compare.lambda_subjects import request_path
from shopctl.errors import ShopctlError
from shopctl.local import localaws, run
from shopctl.local.deployment import manifest_dir
from shopctl.local.net import free_port
from shopctl.local.process import base_environ, uvicorn_argv
from shopctl.local.supervisor import Spec, start_replica, write_files
from shopctl.stages import Service, Stage, get_stage
from shopctl.targets import ecs_target, eks_target, naming, registry

PROCESS_TARGETS = ("local", "ecs", "eks")
HEALTH_TIMEOUT_S = 45.0


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


