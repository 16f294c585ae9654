"""The contract suite runs against a *base URL*, whatever serves it.

Here each stage is started the way `make run` starts it (real uvicorn processes against the session's
local AWS); deployment targets (Lambda, ECS, EKS) plug into the same `deployment` fixture as they arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from shopctl import localaws
from shopctl.net import free_port
from shopctl.resources import TableNames
from shopctl.run import start_stage
from shopctl.stages import STAGES


@dataclass(frozen=True)
class Deployed:
    stage: str
    target: str
    base_url: str
    tables: TableNames


@pytest.fixture(scope="session", params=list(STAGES))
def deployment(
    request: pytest.FixtureRequest, local_aws: localaws.LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    """Start one stage for the whole session (pytest groups the tests by stage) and yield its URL."""
    stage = request.param
    running = start_stage(
        stage,
        runtime="LAMBDA",
        port=free_port(),
        aws=local_aws,
        name=f"contract-{stage}",
        logs=tmp_path_factory.mktemp(f"logs-{stage}"),
        quiet=True,
    )
    try:
        yield Deployed(stage=stage, target="local", base_url=running.base_url, tables=running.tables)
    finally:
        running.stop()


@pytest.fixture
def api(deployment: Deployed) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment.base_url, timeout=10.0) as client:
        yield client
