"""The shop served per stage and target, shared by every suite under tests/ that talks to it over HTTP.

Each stage is served the way `make run` starts it (uvicorn processes against the session's local AWS),
and deployed exactly as `make deploy TARGET=…` does — to the local Lambda (packaged, uploaded, run from the
package), to local ECS (tasks run from the registered task definition) and to local EKS (pods run from the
rendered Deployment) — those marked `e2e`.

Starting a stage costs seconds of CPU (a deployment, tens of seconds), so a pytest process serves each
pair once: the contract suite, the side-by-side contract and the browser tests all use the same one. Tests
never assume empty tables (each creates its own users), so sharing a deployment shares nothing they check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from shopctl import httpclient
from shopctl.local import localaws
from shopctl.serving import Deployed, serve
from tests.support.targets import TARGETS, LocalStages

__all__ = ["Deployed"]


@pytest.fixture(scope="session")
def local_stages(local_aws: localaws.LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStages]:
    with ExitStack() as stack:
        yield LocalStages(local_aws, stack, tmp_path_factory)


@pytest.fixture(scope="session", params=TARGETS)
def deployment(
    request: pytest.FixtureRequest,
    local_aws: localaws.LocalAws,
    local_stages: LocalStages,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployed]:
    """One stage on one target for as long as tests need it: pytest groups the tests by this parameter, so
    a deployed target is destroyed (data included) once its tests are done; a local stage stays up."""
    stage, target, *mode = request.param
    if target == "local":
        yield local_stages[stage]
        return
    logs = tmp_path_factory.mktemp(f"logs-{stage}-{target}")
    package = "image" if "image" in mode else "zip"
    with serve(stage, target, local_aws, logs=logs, snapstart="snapstart" in mode, package=package) as deployed:
        yield deployed


@pytest.fixture
def api(deployment: Deployed) -> Iterator[httpx.Client]:
    with httpclient.client(base_url=deployment.base_url, timeout=30.0) as client:
        yield client
