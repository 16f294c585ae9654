"""The contract suite runs against a *base URL*, whatever serves it.

Each stage is served the way `make run` starts it (uvicorn processes against the session's local AWS),
and deployed exactly as `make deploy TARGET=…` does — to the local Lambda (packaged, uploaded, run from the
package), to local ECS (tasks run from the registered task definition) and to local EKS (pods run from the
rendered Deployment) — those marked `e2e`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from shopctl import localaws
from shopctl.serving import DEPLOY_TARGETS, Deployed, serve
from shopctl.stages import STAGES

__all__ = ["Deployed"]

ALL_TARGETS = [pytest.param((stage, "local"), id=stage) for stage in STAGES] + [
    pytest.param((stage, target), id=f"{stage}-{target}", marks=pytest.mark.e2e)
    for target in DEPLOY_TARGETS
    for stage in STAGES
] + [  # the clean stage on Lambda with SnapStart (every cold start a restore of the snapshot), and as the
    # container image ECS and EKS run, behind the Lambda Web Adapter
    pytest.param(("clean", "lambda", "snapstart"), id="clean-lambda-snapstart", marks=pytest.mark.e2e),
    pytest.param(("clean", "lambda", "image"), id="clean-lambda-image", marks=pytest.mark.e2e),
]
# `make test` runs two pytest processes side by side, each serving some targets (tests/run_suites.py).
_ONLY = {t for t in os.environ.get("SHOP_CONTRACT_TARGETS", "").split(",") if t}
TARGETS = [param for param in ALL_TARGETS if not _ONLY or param.values[0][1] in _ONLY]


@pytest.fixture(scope="session", params=TARGETS)
def deployment(
    request: pytest.FixtureRequest, local_aws: localaws.LocalAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    """Serve one stage on one target for the whole session (pytest groups the tests by it)."""
    stage, target, *variant = request.param
    logs = tmp_path_factory.mktemp(f"logs-{stage}-{target}")
    package = "image" if "image" in variant else "zip"
    with serve(stage, target, local_aws, logs=logs, snapstart="snapstart" in variant, package=package) as deployed:
        yield deployed


@pytest.fixture
def api(deployment: Deployed) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment.base_url, timeout=30.0) as client:
        yield client
