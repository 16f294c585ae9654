"""Fixtures for the microservices stage's tests.

Everything here needs the local AWS (the root conftest's `local_aws` moto server): the services build
their own boto3 clients and read their own configuration, so the only way to test them is to give them
a DynamoDB — and an SSM, and a config file — to talk to. That is part of the lesson, not an accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopctl.aws.resources import TableNames, ensure_tables, runtime_environment
from shopctl.local.process import temporary_environment

APP_SETTINGS = ("RUNTIME", "USERS_TABLE", "ORDERS_TABLE", "SSM_PREFIX", "CONFIG_FILE")

# Each service reads its configuration when imported (a misconfigured service must not start), so even
# importing one takes a runtime's settings: they are imported under stand-in Lambda settings, and each
# test publishes its own (`configure`). The coupling to the runtime reaches into the test suite.
_STAND_IN = {"RUNTIME": "LAMBDA", "USERS_TABLE": "not-used", "ORDERS_TABLE": "not-used",
             "USERS_SERVICE_URL": "http://users.invalid", "ORDERS_SERVICE_URL": "http://orders.invalid"}
with temporary_environment(**_STAND_IN):
    import gateway.main  # noqa: F401  (imported here, under the stand-in settings, for test_gateway.py)
    from orders_service import config as orders_config
    from orders_service.main import app as orders_app
    from orders_service.users_client import http_client
    from users_service import config as users_config
    from users_service.main import app as users_app


def clear_config_caches() -> None:
    users_config.setting.cache_clear()
    orders_config.setting.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    """Each service caches its configuration for the life of the process; tests start from scratch."""
    clear_config_caches()
    yield
    clear_config_caches()


Configure = Callable[[str], TableNames]


@pytest.fixture
def configure(tables: TableNames, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Configure:
    """configure("LAMBDA" | "ECS" | "EKS"): publish this test's table names where that runtime looks
    (env vars, SSM parameters, a JSON file) and set the process environment accordingly."""

    def apply(runtime: str) -> TableNames:
        for name in APP_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        environ = runtime_environment(
            runtime,
            tables.settings(),
            ssm_prefix=f"/shop-test-{uuid.uuid4().hex[:8]}",
            config_file=tmp_path / "config.json",
        )
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        clear_config_caches()
        return tables

    return apply


@pytest.fixture
def lambda_env(configure: Configure) -> TableNames:
    """The simplest runtime (settings in environment variables) — enough for most tests."""
    return configure("LAMBDA")


@pytest.fixture(scope="module")
def _module_tables(local_aws: object) -> TableNames:
    names = TableNames.for_deployment(f"test-{uuid.uuid4().hex[:10]}")
    ensure_tables(names)
    return names


@pytest.fixture
def shared_lambda_env(_module_tables: TableNames, monkeypatch: pytest.MonkeyPatch) -> TableNames:
    """LAMBDA settings pointing at one pair of tables shared by a whole test module — for the many
    tests that must store *nothing* (rejected input). Cheaper than fresh tables per test, and stricter:
    if any of them stored something, every later emptiness check in the module would fail too."""
    for name in APP_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in runtime_environment("LAMBDA", _module_tables.settings()).items():
        monkeypatch.setenv(name, value)
    clear_config_caches()
    return _module_tables


@pytest.fixture
def users_api(lambda_env: TableNames) -> TestClient:
    return TestClient(users_app)


@pytest.fixture
def orders_api(lambda_env: TableNames) -> Iterator[TestClient]:
    """The orders-service, its users client injected: TestClient(users_app) is an httpx.Client that
    calls the users-service in-process, so no network and no second server are needed."""
    orders_app.dependency_overrides[http_client] = lambda: TestClient(users_app)
    try:
        yield TestClient(orders_app)
    finally:
        orders_app.dependency_overrides.clear()
