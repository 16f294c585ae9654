"""Serve a stage on this machine as uvicorn processes against the local AWS (`make run`, the tests).

The processes get exactly what they would get on a platform: RUNTIME, the configuration published
where that runtime reads it (env vars / SSM parameters / a JSON file), and boto3's standard endpoint
variables. Nothing in the apps knows it runs locally.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from shopctl.aws import resources
from shopctl.errors import ShopctlError
from shopctl.local import localaws
from shopctl.local.net import free_port, port_in_use, wait_healthy
from shopctl.local.process import Proc, base_environ, spawn, uvicorn_argv
from shopctl.paths import run_dir
from shopctl.stages import Stage, get_stage


@dataclass
class Running:
    stage: Stage
    runtime: str
    base_url: str
    tables: resources.TableNames
    procs: list[Proc] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def dead(self) -> list[Proc]:
        return [p for p in self.procs if not p.alive()]


def publish_config(
    runtime: str, tables: resources.TableNames, name: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Publish the table names where RUNTIME reads them; returns the env the processes need."""
    try:
        return resources.runtime_environment(
            runtime,
            {**tables.settings(), **(extra or {})},
            ssm_prefix=f"/shop/{name}",
            config_file=run_dir() / name / "config.json",
        )
    except ValueError as error:
        raise ShopctlError(str(error), "RUNTIME is one of LAMBDA, ECS, EKS") from None


def start_stage(
    stage_name: str,
    *,
    runtime: str,
    port: int,
    aws: localaws.LocalAws,
    name: str | None = None,
    tables: resources.TableNames | None = None,
    logs: Path | None = None,
    quiet: bool = False,
    startup_timeout: float = 30.0,
) -> Running:
    """Start every process of `stage_name`; the entry service listens on `port`.

    `logs`: a folder for one log file per process; None streams their output to this terminal.
    """
    stage = get_stage(stage_name)
    runtime = runtime.upper()
    name = name or stage.name
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    if port_in_use(port):
        raise ShopctlError(
            f"port {port} is already in use", f"stop what uses it, or pick another: PORT={port + 1}"
        )

    tables = tables or resources.TableNames.for_deployment(name)
    created = resources.ensure_tables(tables)
    say(f"✓ tables {tables.users}, {tables.orders}" + (" (created)" if created else " (already there)"))
    config_env = publish_config(runtime, tables, name)
    say(
        f"✓ configuration published for RUNTIME={runtime}: "
        + ", ".join(f"{k}={v}" for k, v in config_env.items())
    )

    running = Running(stage, runtime, f"http://127.0.0.1:{port}", tables)
    urls: dict[str, str] = {}
    try:
        for service in stage.services:
            service_port = port if service.name == stage.entry else free_port()
            env = {**aws.environ(), **config_env}
            env.update({f"{up.upper()}_SERVICE_URL": urls[up] for up in service.upstreams})
            log = None
            if logs is not None:
                logs.mkdir(parents=True, exist_ok=True)
                log = logs / f"{service.name}.log"
            label = service.name if len(stage.services) > 1 else stage.name
            say(f"… starting {label} ({service.asgi}) on 127.0.0.1:{service_port}")
            started = time.monotonic()
            proc = spawn(
                service.name,
                uvicorn_argv(service.asgi, service_port, access_log=logs is None),
                base_environ(stage.name, env),
                log,
            )
            running.procs.append(proc)
            url = f"http://127.0.0.1:{service_port}"
            if not wait_healthy(f"{url}/health", startup_timeout, proc.alive):
                tail = proc.log_tail()
                raise ShopctlError(
                    f"{label} did not become healthy on {url}"
                    + (f" (exited with code {proc.popen.returncode})" if not proc.alive() else ""),
                    (f"its last log lines:\n{tail}" if tail else "see the output above"),
                )
            say(f"✓ {label} healthy in {time.monotonic() - started:.1f}s (pid {proc.pid})")
            urls[service.name] = url
    except BaseException:
        running.stop()
        raise
    return running


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM (e.g. from a process manager) end `make run` the same way."""
    raise KeyboardInterrupt


def serve(stage_name: str, *, runtime: str, port: int, aws_port: int) -> int:
    """`make run`: start local AWS if needed, serve the stage, stop everything started on Ctrl-C."""
    aws, started_aws = localaws.start(aws_port)
    aws.use()
    # Handle both explicitly: a process started in the background may inherit SIGINT as "ignored".
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    running: Running | None = None
    try:
        running = start_stage(stage_name, runtime=runtime, port=port, aws=aws)
        print(
            f"\n{stage_name} stage serving on {running.base_url}  (RUNTIME={running.runtime}, "
            f"local AWS {aws.endpoint})\n"
            f"  try:  curl -s -X POST {running.base_url}/users -H 'content-type: application/json' "
            '-d \'{"name": "Ada", "email": "ada@example.com"}\'\n'
            f"  docs: {running.base_url}/docs\n"
            "  Ctrl-C stops everything this command started.\n",
            flush=True,
        )
        while True:
            dead = running.dead()
            if dead:
                proc = dead[0]
                raise ShopctlError(
                    f"{proc.name} exited unexpectedly (code {proc.popen.returncode})", "see its output above"
                )
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\n… stopping", flush=True)
        return 0
    finally:
        if running is not None:
            running.stop()
        if started_aws:
            localaws.stop(aws.port, quiet=True)
            print("✓ stopped the stage and the local AWS this command started", flush=True)
        elif running is not None:
            print(
                "✓ stopped the stage (local AWS left running: it was started by `make local-aws`)", flush=True
            )
