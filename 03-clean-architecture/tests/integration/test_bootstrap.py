"""The composition root: RUNTIME picks the config adapter, the adapter finds the tables, and the
result is a working app — one test per runtime, against the local AWS.

The settings are published exactly as `make run` and the deploy code publish them
(shopctl.aws.resources.runtime_environment), so these tests also pin the stage to the shared contract.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from clean_shop.adapters.config import ECSConfigAdapter, EKSConfigAdapter, LambdaConfigAdapter
from clean_shop.adapters.dynamodb_repository import DynamoDBUnitOfWork, DynamoDBUserRepository
from clean_shop.adapters.memory_repository import InMemoryUnitOfWork, InMemoryUserRepository
from clean_shop.adapters.sqlite_repository import DEFAULT_SQLITE_PATH, SQLiteUnitOfWork, SQLiteUserRepository
from clean_shop.application.errors import ConfigurationError
from clean_shop.bootstrap import bootstrap, config_for, listen_address, storage_for
from clean_shop.entrypoints.http import create_app
from shopctl.aws.resources import TableNames, runtime_environment

ADAPTERS = {"LAMBDA": LambdaConfigAdapter, "ECS": ECSConfigAdapter, "EKS": EKSConfigAdapter}


@pytest.mark.parametrize("runtime", list(ADAPTERS))
def test_each_runtime_gets_its_config_adapter_and_a_working_app(
    runtime: str, tables: TableNames, tmp_path: Path
) -> None:
    environ = runtime_environment(
        runtime,
        tables.settings(),
        ssm_prefix=f"/test-{uuid.uuid4().hex[:8]}",
        config_file=tmp_path / "config.json",
    )

    container = bootstrap(environ)

    assert type(container.config) is ADAPTERS[runtime]
    assert container.runtime == runtime
    client = TestClient(create_app(container))
    assert client.get("/health").json()["runtime"] == runtime
    user = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}).json()
    # The user really landed in the DynamoDB table the runtime's configuration named.
    stored = boto3.resource("dynamodb").Table(tables.users).get_item(Key={"id": user["id"]})
    assert stored["Item"]["email"] == "ada@example.com"


def test_storage_memory_needs_no_tables() -> None:
    container = bootstrap({"RUNTIME": "EKS", "CONFIG_FILE": "/nonexistent.json", "STORAGE": "memory"})
    assert isinstance(container.list_users._users, InMemoryUserRepository)


@pytest.mark.parametrize(
    ("storage", "unit_of_work"),
    [("memory", InMemoryUnitOfWork), ("sqlite", SQLiteUnitOfWork), ("dynamodb", DynamoDBUnitOfWork)],
)
def test_each_storage_brings_the_unit_of_work_for_its_own_database(
    storage: str, unit_of_work: type, tables: TableNames, tmp_path: Path
) -> None:
    config = config_for("LAMBDA", runtime_environment("LAMBDA", tables.settings()))
    adapters = storage_for(storage, config, str(tmp_path / "shop.sqlite3"))
    assert type(adapters.unit_of_work()) is unit_of_work
    assert adapters.unit_of_work() is not adapters.unit_of_work()  # one unit per request, never shared


def test_storage_sqlite_serves_the_api_and_keeps_the_data_across_a_restart(tmp_path: Path) -> None:
    """The database swap, end to end: one setting, the same HTTP API, data in a file."""
    environ = {
        "RUNTIME": "LAMBDA",
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "shop.sqlite3"),
        "USERS_TABLE": "shop-clean-users",
        "ORDERS_TABLE": "shop-clean-orders",
    }
    client = TestClient(create_app(bootstrap(environ)))
    user = client.post("/users", json={"name": "Ada", "email": "ada@example.com"})
    assert user.status_code == 201
    order = client.post("/orders", json={"user_id": user.json()["id"], "product": "tea", "quantity": 2})
    assert order.status_code == 201
    assert client.post("/orders", json={"user_id": str(uuid.uuid4()), "product": "x", "quantity": 1}).status_code == 404

    container = bootstrap(environ)  # a new process, as far as the app can tell
    restarted = TestClient(create_app(container))

    assert container.storage == "sqlite"
    assert isinstance(container.get_user._users, SQLiteUserRepository)
    assert restarted.get(f"/users/{user.json()['id']}").json() == user.json()
    listed = restarted.get("/orders", params={"user_id": user.json()["id"]}).json()
    assert listed == {"items": [order.json()], "next": None}
    assert restarted.get("/users", params={"next": "bm90IGEgdG9rZW4"}).status_code == 422
    assert restarted.delete(f"/users/{user.json()['id']}").status_code == 204
    assert restarted.delete(f"/users/{user.json()['id']}").status_code == 404
    # The table names came from the runtime's configuration (here USERS_TABLE / ORDERS_TABLE).
    with sqlite3.connect(tmp_path / "shop.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"shop-clean-users", "shop-clean-orders"}


def test_storage_sqlite_defaults_to_a_file_in_the_temp_directory() -> None:
    assert Path(DEFAULT_SQLITE_PATH).parent == Path(tempfile.gettempdir())
    assert Path(DEFAULT_SQLITE_PATH).suffix == ".sqlite3"


def test_storage_sqlite_refuses_an_unsafe_table_name_at_startup(tmp_path: Path) -> None:
    environ = {
        "RUNTIME": "LAMBDA",
        "STORAGE": "sqlite",
        "SQLITE_PATH": str(tmp_path / "shop.sqlite3"),
        "USERS_TABLE": 'users"; DROP TABLE orders; --',
        "ORDERS_TABLE": "orders",
    }
    with pytest.raises(ConfigurationError, match="table name"):
        bootstrap(environ)


def test_storage_sqlite_needs_no_aws_sdk(tmp_path: Path) -> None:
    # A fresh interpreter: this one has boto3 loaded already (the local AWS fixtures).
    script = textwrap.dedent(
        f"""
        import sys, warnings
        warnings.simplefilter("ignore")
        from clean_shop.bootstrap import bootstrap
        from clean_shop.entrypoints.http import create_app
        from fastapi.testclient import TestClient

        environ = {{"RUNTIME": "LAMBDA", "STORAGE": "sqlite", "SQLITE_PATH": {str(tmp_path / "s.db")!r},
                   "USERS_TABLE": "users", "ORDERS_TABLE": "orders"}}
        client = TestClient(create_app(bootstrap(environ)))
        assert client.post("/users", json={{"name": "Ada", "email": "ada@example.com"}}).status_code == 201
        print(sorted(name for name in ("boto3", "botocore") if name in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_storage_defaults_to_dynamodb(tables: TableNames) -> None:
    container = bootstrap(runtime_environment("LAMBDA", tables.settings()))
    assert container.storage == "dynamodb"
    assert isinstance(container.get_user._users, DynamoDBUserRepository)


@pytest.mark.parametrize("environ", [{}, {"RUNTIME": ""}, {"RUNTIME": "FARGATE"}, {"RUNTIME": "k8s"}])
def test_a_missing_or_unknown_runtime_is_a_configuration_error_listing_the_choices(environ: dict) -> None:
    with pytest.raises(ConfigurationError, match="LAMBDA, ECS, EKS"):
        bootstrap(environ)


def test_an_unknown_storage_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="dynamodb, memory, sqlite"):
        bootstrap({"RUNTIME": "LAMBDA", "STORAGE": "postgres"})


def test_runtime_names_are_case_insensitive() -> None:
    assert bootstrap({"RUNTIME": " lambda ", "STORAGE": "memory"}).runtime == "LAMBDA"


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({"RUNTIME": "LAMBDA", "USERS_TABLE": "u"}, "ORDERS_TABLE"),
        ({"RUNTIME": "EKS", "CONFIG_FILE": "/nonexistent/config.json"}, "/nonexistent/config.json"),
    ],
)
def test_missing_table_settings_stop_the_app_at_startup(environ: dict, missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        bootstrap(environ)


def test_a_missing_ssm_parameter_stops_the_app_at_startup(local_aws) -> None:
    prefix = f"/test-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ConfigurationError, match=f"{prefix}/users/table"):
        bootstrap({"RUNTIME": "ECS", "SSM_PREFIX": prefix})


def test_the_ssm_prefix_defaults_to_shop(local_aws) -> None:
    assert bootstrap({"RUNTIME": "ECS", "STORAGE": "memory"}).config.parameter_name("users/table") == (
        "/shop/users/table"
    )


def test_listen_address_defaults_to_all_interfaces_on_8080() -> None:
    assert listen_address({}) == ("0.0.0.0", 8080)
    assert listen_address({"HOST": "127.0.0.1", "PORT": "9000"}) == ("127.0.0.1", 9000)
    with pytest.raises(ConfigurationError, match="PORT"):
        listen_address({"PORT": "http"})
