"""The shop served per stage and target, shared by every suite under tests/ that talks to it over HTTP.

Each stage is served the way `make run` starts it (uvicorn processes against the session's local AWS),
and deployed exactly as `make deploy TARGET=…` does — to the local Lambda (packaged, uploaded, run from the
package), to local ECS (tasks run from the registered task definition) and to local EKS (pods run from the
rendered Deployment) — those marked `e2e`.

Starting a stage costs seconds of CPU (a deployment, tens of seconds), so a pytest process serves each
pair once: the contract suite, the side-by-side contract and the browser tests all use the same one. Tests
never assume empty tables (each creates its own users), so sharing a deployment shares nothing they check.

The URL mode (SHOP_CONTRACT_URL, tests/support/url_mode.py) is one more kind of deployment: a shop deployed
elsewhere, reached only over HTTP. Nothing local is started for it; the tests marked `internals` are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from shopctl import httpclient
from shopctl.local import localaws
from shopctl.serving import Deployed, serve
from tests.support import url_mode
from tests.support.targets import TARGETS, LocalStages

__all__ = ["Deployed"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "internals(why): needs more of the deployment than its URL; skipped in the URL mode, saying why"
    )
    if url_mode.active():
        try:  # a wrong setting, or no credentials to sign with: one line before any test, not one per test
            url_mode.from_environ().auth()
        except url_mode.Refused as refused:
            raise pytest.UsageError(str(refused)) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not url_mode.active():
        return
    for item in items:
        if marker := item.get_closest_marker("internals"):
            item.add_marker(pytest.mark.skip(reason=f"URL mode (SHOP_CONTRACT_URL): {marker.args[0]}"))


@pytest.fixture(scope="session")
def local_stages(local_aws: localaws.LocalAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStages]:
    with ExitStack() as stack:
        yield LocalStages(local_aws, stack, tmp_path_factory)


@pytest.fixture(scope="session", params=TARGETS)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """One stage on one target for as long as tests need it: pytest groups the tests by this parameter, so
    a deployed target is destroyed (data included) once its tests are done; a local stage stays up."""
    stage, target, *mode = request.param
    if "url" in mode:  # deployed by someone else: no local AWS either
        yield url_mode.from_environ().deployed()
        return
    local_aws: localaws.LocalAws = request.getfixturevalue("local_aws")
    if target == "local":
        yield request.getfixturevalue("local_stages")[stage]
        return
    logs = tmp_path_factory.mktemp(f"logs-{stage}-{target}")
    package = "image" if "image" in mode else "zip"
    with serve(stage, target, local_aws, logs=logs, snapstart="snapstart" in mode, package=package) as deployed:
        yield deployed


@pytest.fixture(scope="session")
def http_auth() -> httpx.Auth | None:
    """What every request to the deployment goes through: nothing, except in the URL mode (a SigV4 signature;
    /orders… sent to the orders URL where the stage has no gateway)."""
    return url_mode.from_environ().auth() if url_mode.active() else None


@pytest.fixture
def api(deployment: Deployed, http_auth: httpx.Auth | None) -> Iterator[httpx.Client]:
    with httpclient.client(base_url=deployment.base_url, timeout=30.0, auth=http_auth) as client:
        yield client
