"""Fixtures for the monolith's tests (on top of the root conftest's `local_aws` and `tables`).

`monolith.main` takes nothing from outside: it reads RUNTIME and its configuration from the process
environment and caches the answers. So the tests steer it the only way possible — by setting the
environment a runtime would give it, and clearing its caches between tests.
"""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from shopctl.aws.resources import TableNames, runtime_environment
from shopctl.local.process import temporary_environment

CONFIG_VARIABLES = ("RUNTIME", "USERS_TABLE", "ORDERS_TABLE", "SSM_PREFIX", "CONFIG_FILE")

# The monolith looks its tables up when it is imported (a misconfigured process must not start), so even
# importing it takes a runtime's configuration: it is imported under a stand-in Lambda one, and every
# test then publishes its own (`configure`). The coupling reaches into the test suite.
with temporary_environment(RUNTIME="LAMBDA", USERS_TABLE="not-used", ORDERS_TABLE="not-used"):
    from monolith import main


def clear_config_caches() -> None:
    main.setting.cache_clear()


@pytest.fixture(autouse=True)
def fresh_config_caches() -> Iterator[None]:
    """Every test starts with the table-name lookups uncached, as a new process would."""
    clear_config_caches()
    yield
    clear_config_caches()


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration variable from the shell (or another fixture) is visible to the test."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def configure(
    tables: TableNames, unconfigured: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[str], dict[str, str]]:
    """Publish this test's table names where `runtime` reads them and set that runtime's environment."""

    def configure(runtime: str) -> dict[str, str]:
        environment = runtime_environment(
            runtime,
            tables.settings(),
            ssm_prefix=f"/test-{uuid.uuid4().hex[:10]}",
            config_file=tmp_path / "config.json",
        )
        for name, value in environment.items():
            unconfigured.setenv(name, value)
        clear_config_caches()
        return environment

    return configure


@pytest.fixture
def client(configure: Callable[[str], dict[str, str]]) -> TestClient:
    """The app configured as on Lambda (the cheapest runtime to set up)."""
    configure("LAMBDA")
    return TestClient(main.app)


@pytest.fixture
def dynamodb(local_aws: Any) -> Any:
    """A plain boto3 client, to look at the tables behind the app's back."""
    return boto3.client("dynamodb")
