"""Serve one stage on one target for as long as a `with` block lasts — the contract suite, `make verify`
and the notebooks all need "a base URL for stage X on target Y", started and stopped the same way.

`target="local"` starts the stage as `make run` does; lambda/ecs/eks deploy it exactly as
`make deploy TARGET=…` does (ENV=local) and destroy it afterwards, data included.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shopctl.aws.resources import TableNames
from shopctl.local import localaws
from shopctl.local.net import free_port, wait_healthy
from shopctl.local.run import start_stage
from shopctl.stages import get_stage
from shopctl.targets import registry
from shopctl.targets.registry import TARGETS as DEPLOY_TARGETS

# What `serve` can start: the stage run as `make run` does ("local"), or deployed to a registered target.
TARGETS = ("local", *DEPLOY_TARGETS)


@dataclass(frozen=True)
class Deployed:
    stage: str
    target: str
    base_url: str
    tables: TableNames
    services: dict[str, str] = field(default_factory=dict)  # service -> its own local URL (deployed targets)
    snapstart: bool = False  # Lambda: served with SnapStart (cold starts are restores)
    package: str = "zip"  # Lambda: "image" = the container image behind the Lambda Web Adapter


@contextmanager
def serve(
    stage: str,
    target: str,
    aws: localaws.LocalAws,
    *,
    runtime: str = "LAMBDA",
    logs: Path | None = None,
    snapstart: bool = False,
    package: str = "zip",
) -> Iterator[Deployed]:
    """Yield a running deployment of `stage` on `target`; the process env must already point at `aws`.

    `runtime` only applies to target "local" (a deployed target sets its own). Logs of local processes go
    to `logs` (a temporary folder when None), never to the caller's terminal.
    """
    if target in DEPLOY_TARGETS:
        module = DEPLOY_TARGETS[target]
        options = module.Options(env="local", port=free_port(), quiet=True)
        # The Lambda modes, for a target whose options have them.
        modes = {"snapstart": snapstart, "package": package}
        options = dataclasses.replace(options, **{k: v for k, v in modes.items() if hasattr(options, k)})
        deployed = module.deploy(get_stage(stage), options)
        # Like a pipeline's smoke test: the deployment counts as up once /health is green end to end. (For
        # microservices on Lambda the gateway's /health reaches both functions: their cold starts happen here.)
        wait_healthy(f"{deployed.url}/health", 60, request_timeout=30)
        try:
            tables = deployed.resources.tables
            assert tables is not None  # every deploy records its tables
            services = dict(deployed.resources.service_urls)
            yield Deployed(stage, target, deployed.url, tables, services, snapstart=snapstart, package=package)
        finally:
            registry.destroy(module, get_stage(stage), options, keep_data=False)
        return
    if target != "local":
        raise ValueError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    with tempfile.TemporaryDirectory(prefix=f"shop-logs-{stage}-") as scratch:
        running = start_stage(
            stage, runtime=runtime, port=free_port(), aws=aws, name=f"serve-{stage}",
            logs=logs or Path(scratch), quiet=True,
        )
        try:
            yield Deployed(stage=stage, target="local", base_url=running.base_url, tables=running.tables)
        finally:
            running.stop()
