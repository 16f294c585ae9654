"""Each service finds its table on all three runtimes — by branching on RUNTIME itself.

This works, and it is the part of the monolith's problem the split did not fix: the knowledge "Lambda
means env vars, ECS means SSM, EKS means a mounted file" lives inside each service (two copies now).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from orders_service import config as orders_config
from orders_service.main import app as orders_app
from orders_service.users_client import http_client
from shopctl.aws.resources import RUNTIMES
from users_service import config as users_config
from users_service.main import app as users_app

CONFIG_ERRORS = (users_config.ConfigurationError, orders_config.ConfigurationError)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_both_services_find_their_tables_on_every_runtime(configure, runtime: str) -> None:
    tables = configure(runtime)
    assert users_config.users_table() == tables.users
    assert orders_config.orders_table() == tables.orders

    # And the whole flow works there: a user, then an order for that user.
    users = TestClient(users_app)
    orders_app.dependency_overrides[http_client] = lambda: users
    try:
        orders = TestClient(orders_app)
        user = users.post("/users", json={"name": "Grace", "email": "grace@example.com"}).json()
        assert (
            orders.post(
                "/orders", json={"user_id": user["id"], "product": "COBOL", "quantity": 1}
            ).status_code
            == 201
        )
        assert len(orders.get("/orders", params={"user_id": user["id"]}).json()["items"]) == 1
        assert orders.get("/health").json()["runtime"] == runtime
        assert users.get("/health").json()["runtime"] == runtime
    finally:
        orders_app.dependency_overrides.clear()


def test_ecs_reads_ssm_not_the_environment(configure, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = configure("ECS")
    monkeypatch.setenv("USERS_TABLE", "a-decoy-that-only-lambda-would-read")
    assert users_config.users_table() == tables.users


def test_eks_reads_the_mounted_file(configure, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure("EKS")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"users": {"table": "from-the-configmap"}}))
    monkeypatch.setenv("CONFIG_FILE", str(other))
    assert users_config.users_table() == "from-the-configmap"


def test_runtime_name_is_case_insensitive(configure, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = configure("LAMBDA")
    monkeypatch.setenv("RUNTIME", "lambda")
    assert users_config.users_table() == tables.users


def test_lookup_is_cached_for_the_life_of_the_process(configure, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = configure("LAMBDA")
    assert users_config.users_table() == tables.users
    monkeypatch.setenv("USERS_TABLE", "changed-after-start")
    assert users_config.users_table() == tables.users  # not re-read per request …
    users_config.setting.cache_clear()
    assert users_config.users_table() == "changed-after-start"  # … only after a "restart"


@pytest.mark.parametrize("value", [None, "", "FARGATE", "local"])
def test_unknown_runtime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("RUNTIME", raising=False)
    else:
        monkeypatch.setenv("RUNTIME", value)
    for lookup in (users_config.users_table, orders_config.orders_table):
        with pytest.raises(CONFIG_ERRORS, match=r"RUNTIME.* expected one of LAMBDA, ECS, EKS"):
            lookup()


def test_missing_settings_name_what_is_missing(
    configure, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure("LAMBDA")
    monkeypatch.delenv("ORDERS_TABLE")
    with pytest.raises(orders_config.ConfigurationError, match="ORDERS_TABLE is not set"):
        orders_config.orders_table()

    monkeypatch.setenv("RUNTIME", "ECS")
    monkeypatch.setenv("SSM_PREFIX", "/shop-nothing-here")
    users_config.setting.cache_clear()
    with pytest.raises(users_config.ConfigurationError, match="SSM parameter /shop-nothing-here/users/table not found"):
        users_config.users_table()

    monkeypatch.setenv("RUNTIME", "EKS")
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "absent.json"))
    with pytest.raises(users_config.ConfigurationError, match=r"absent\.json not found"):
        users_config.users_table()
    (tmp_path / "partial.json").write_text(json.dumps({"users": {"table": "t"}}))
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "partial.json"))
    assert users_config.users_table() == "t"
    with pytest.raises(orders_config.ConfigurationError, match="config key 'orders/table' not found"):
        orders_config.orders_table()


def test_users_service_address_and_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USERS_SERVICE_URL", raising=False)
    with pytest.raises(orders_config.ConfigurationError, match="USERS_SERVICE_URL is not set"):
        orders_config.users_service_url()
    monkeypatch.setenv("USERS_SERVICE_URL", "http://users.shop.local:8080/")
    assert orders_config.users_service_url() == "http://users.shop.local:8080"

    monkeypatch.delenv("USERS_SERVICE_TIMEOUT", raising=False)
    assert orders_config.users_service_timeout() == 2.0
    monkeypatch.setenv("USERS_SERVICE_TIMEOUT", "0.5")
    assert orders_config.users_service_timeout() == 0.5
    for bad in ("soon", "0", "-1", "600"):
        monkeypatch.setenv("USERS_SERVICE_TIMEOUT", bad)
        with pytest.raises(orders_config.ConfigurationError, match="USERS_SERVICE_TIMEOUT"):
            orders_config.users_service_timeout()
