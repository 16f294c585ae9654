"""The monolith, tested the only way it can be: through HTTP, against a DynamoDB.

Nothing in `monolith.main` can be handed a fake — the functions reach for boto3 and for RUNTIME
themselves — so every test here needs the local AWS (moto server, the root `local_aws` fixture) and
real tables (`tables`). To check what was stored we read DynamoDB directly with boto3.

The configuration tests publish the table names where each runtime looks for them (environment
variables, SSM parameters, a JSON file) with the same deploy code `make run` uses.
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from monolith import main
from shopctl.aws.resources import TableNames

ANN = {"name": "Ann Example", "email": "ann@example.com"}
CONFIG_VARIABLES = ("RUNTIME", "USERS_TABLE", "ORDERS_TABLE", "SSM_PREFIX", "CONFIG_FILE")


# --- helpers ------------------------------------------------------------------------------------------


def stored(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=table)["Items"]


def create_user(client: TestClient, **overrides: str) -> dict[str, Any]:
    response = client.post("/users", json={**ANN, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def create_order(
    client: TestClient, user_id: str, product: str = "book", quantity: int = 1
) -> dict[str, Any]:
    response = client.post("/orders", json={"user_id": user_id, "product": product, "quantity": quantity})
    assert response.status_code == 201, response.text
    return response.json()


def walk(client: TestClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Follow `next` from the first page to the last; returns the pages."""
    pages, next_token = [], None
    while True:
        query = {**params, **({"next": next_token} if next_token else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        next_token = response.json()["next"]
        if next_token is None:
            return pages
        assert len(pages) < 20, "pagination does not terminate"


def assert_invalid(response: Any, field: str, where: str = "body") -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(error["loc"][0] == where and error["loc"][-1] == field for error in errors), errors


# --- /docs ---------------------------------------------------------------------------------------------


def test_docs_render_from_local_assets_behind_a_path_prefix(client: TestClient):
    # root_path: what an API Gateway stage or a proxy's path prefix tells the app.
    prefixed = TestClient(main.app, root_path="/prod")
    page = prefixed.get("/docs").text
    assert "/prod/openapi.json" in page and "/prod/static-offline-docs/swagger-ui-bundle.js" in page
    assert "cdn" not in page and "https://" not in page
    assert prefixed.get("/prod/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


# --- the talk's flow -----------------------------------------------------------------------------------


def test_user_then_order_then_order_for_unknown_user(client: TestClient, tables: TableNames, dynamodb: Any):
    user = create_user(client, name="  Ann Example  ")
    assert user["name"] == "  Ann Example  "  # as sent: the contract trims nothing
    assert uuid.UUID(user["id"]).version == 4
    assert user["created_at"].endswith("+00:00")
    assert stored(dynamodb, tables.users) == [
        {key: {"S": value} for key, value in user.items()}
    ]  # plain strings, as the contract's table layout says

    order = create_order(client, user["id"], product="coffee", quantity=3)
    assert order["user_id"] == user["id"]
    assert (order["product"], order["quantity"], order["status"]) == ("coffee", 3, "pending")
    [item] = stored(dynamodb, tables.orders)
    assert item["quantity"] == {"N": "3"}  # a DynamoDB Number…
    assert client.get(f"/orders/{order['id']}").json() == order  # …that comes back as a JSON integer

    stranger = str(uuid.uuid4())
    response = client.post("/orders", json={"user_id": stranger, "product": "coffee", "quantity": 1})
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert len(stored(dynamodb, tables.orders)) == 1  # nothing stored for the unknown user

    assert client.get("/orders", params={"user_id": user["id"]}).json() == {"items": [order], "next": None}
    assert client.get(f"/users/{user['id']}").json() == user


def test_order_for_a_deleted_user_is_refused_and_deleting_a_user_keeps_their_orders(
    client: TestClient, tables: TableNames, dynamodb: Any
):
    user = create_user(client)
    order = create_order(client, user["id"])
    assert client.delete(f"/users/{user['id']}").status_code == 204

    response = client.post("/orders", json={"user_id": user["id"], "product": "more", "quantity": 1})
    assert response.status_code == 404
    assert [item["id"]["S"] for item in stored(dynamodb, tables.orders)] == [order["id"]]
    assert client.get(f"/orders/{order['id']}").status_code == 200  # the contract promises no cascade


def test_unicode_is_stored_and_returned_unchanged(client: TestClient, tables: TableNames, dynamodb: Any):
    user = create_user(client, name="Zoë Ünïcødé 🚀 日本")
    assert client.get(f"/users/{user['id']}").json()["name"] == "Zoë Ünïcødé 🚀 日本"
    assert stored(dynamodb, tables.users)[0]["name"] == {"S": "Zoë Ünïcødé 🚀 日本"}
    order = create_order(client, user["id"], product="☕ Kaffee für zwei")
    assert client.get(f"/orders/{order['id']}").json()["product"] == "☕ Kaffee für zwei"


# --- pagination -------------------------------------------------------------------------------------------


def test_users_are_paged_with_next_until_null(client: TestClient):
    created = {create_user(client, name=f"User {n}")["id"] for n in range(5)}
    pages = walk(client, "/users", limit=2)
    assert all(len(page) <= 2 for page in pages)
    ids = [user["id"] for page in pages for user in page]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) == created
    assert len(pages) >= 3


def test_orders_are_paged_per_user_oldest_first_and_in_total(client: TestClient):
    ann, bob = create_user(client)["id"], create_user(client, name="Bob")["id"]
    anns = [create_order(client, ann, product=f"item {n}")["id"] for n in range(3)]
    bobs = [create_order(client, bob)["id"]]

    pages = walk(client, "/orders", user_id=ann, limit=2)
    assert [order["id"] for page in pages for order in page] == anns  # the GSI sorts by created_at
    assert len(pages) >= 2

    everything = [order["id"] for page in walk(client, "/orders", limit=3) for order in page]
    assert sorted(everything) == sorted(anns + bobs)


def test_a_token_only_fits_the_listing_it_came_from(client: TestClient):
    ann, bob = create_user(client)["id"], create_user(client, name="Bob")["id"]
    for _ in range(2):
        create_order(client, ann)
    scan_token = client.get("/orders", params={"limit": 1}).json()["next"]
    ann_token = client.get("/orders", params={"user_id": ann, "limit": 1}).json()["next"]
    assert scan_token and ann_token

    assert_invalid(client.get("/orders", params={"user_id": ann, "next": scan_token}), "next", "query")
    assert_invalid(client.get("/orders", params={"next": ann_token}), "next", "query")
    assert_invalid(client.get("/orders", params={"user_id": bob, "next": ann_token}), "next", "query")
    assert client.get("/orders", params={"user_id": ann, "next": ann_token}).status_code == 200


# --- get and delete by id ----------------------------------------------------------------------------------


def test_delete_user_is_204_then_404(client: TestClient, tables: TableNames, dynamodb: Any):
    user = create_user(client)
    response = client.delete(f"/users/{user['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert "Item" not in dynamodb.get_item(TableName=tables.users, Key={"id": {"S": user["id"]}})

    for call in (client.get, client.delete):
        response = call(f"/users/{user['id']}")
        assert response.status_code == 404
        assert response.json() == {"detail": "User not found"}


def test_delete_order_is_204_then_404(client: TestClient, tables: TableNames, dynamodb: Any):
    order = create_order(client, create_user(client)["id"])
    response = client.delete(f"/orders/{order['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert stored(dynamodb, tables.orders) == []

    for call in (client.get, client.delete):
        response = call(f"/orders/{order['id']}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Order not found"}


# --- configuration: one codebase, three runtimes ---------------------------------------------------------


@pytest.mark.parametrize("runtime", ["LAMBDA", "ECS", "EKS"])
def test_each_runtime_finds_its_tables_where_that_platform_puts_them(
    runtime: str,
    configure: Callable[[str], dict[str, str]],
    tables: TableNames,
    dynamodb: Any,
    monkeypatch: pytest.MonkeyPatch,
):
    configure(runtime)
    if runtime != "LAMBDA":
        # Decoys: on ECS and EKS the Lambda-style variables must be ignored, not used.
        monkeypatch.setenv("USERS_TABLE", "decoy-users-does-not-exist")
        monkeypatch.setenv("ORDERS_TABLE", "decoy-orders-does-not-exist")
    client = TestClient(main.app)

    assert client.get("/health").json() == {"status": "ok", "stage": "monolith", "runtime": runtime}
    user = create_user(client)
    order = create_order(client, user["id"], quantity=2)
    assert client.get("/orders", params={"user_id": user["id"]}).json()["items"] == [order]
    assert [item["id"]["S"] for item in stored(dynamodb, tables.users)] == [user["id"]]
    assert [item["id"]["S"] for item in stored(dynamodb, tables.orders)] == [order["id"]]
    assert (main.setting("users/table"), main.setting("orders/table")) == (tables.users, tables.orders)


def test_ecs_reads_ssm_once_per_process(configure: Callable[[str], dict[str, str]], tables: TableNames):
    environment = configure("ECS")
    client = TestClient(main.app)
    create_user(client)  # first request: SSM is read and the answer cached

    boto3.client("ssm").put_parameter(
        Name=f"{environment['SSM_PREFIX']}/users/table", Value="moved", Type="String", Overwrite=True
    )
    create_user(client, name="Bob")  # still the cached name: no SSM call on this request
    assert main.setting("users/table") == tables.users

    main.setting.cache_clear()  # what a new task (a new process) would see
    assert main.setting("users/table") == "moved"


def test_runtime_name_is_case_insensitive(configure: Callable[[str], dict[str, str]], tables: TableNames,
                                          monkeypatch: pytest.MonkeyPatch):
    configure("LAMBDA")
    monkeypatch.setenv("RUNTIME", " lambda ")
    assert main.runtime() == "LAMBDA"
    assert main.setting("users/table") == tables.users


def test_eks_reads_the_mounted_json_file(configure: Callable[[str], dict[str, str]], tables: TableNames):
    environment = configure("EKS")
    document = json.loads(Path(environment["CONFIG_FILE"]).read_text())
    assert document == {"users": {"table": tables.users}, "orders": {"table": tables.orders}}
    assert create_user(TestClient(main.app))["name"] == ANN["name"]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "RUNTIME is not set; expected one of LAMBDA, ECS, EKS"),
        ({"RUNTIME": "FARGATE"}, "RUNTIME='FARGATE' is not supported; expected one of LAMBDA, ECS, EKS"),
        ({"RUNTIME": "LAMBDA"}, "environment variable USERS_TABLE is not set (config key 'users/table')"),
        ({"RUNTIME": "ECS", "SSM_PREFIX": "/nothing-here"}, "SSM parameter /nothing-here/users/table not found"),
        ({"RUNTIME": "EKS", "CONFIG_FILE": "/nonexistent/config.json"}, "config file /nonexistent/config.json not"),
    ],
)
def test_misconfiguration_is_a_clear_error(
    local_aws: Any, unconfigured: pytest.MonkeyPatch, environment: dict[str, str], message: str
):
    for name, value in environment.items():
        unconfigured.setenv(name, value)
    with pytest.raises(main.ConfigurationError) as raised:
        main.setting("users/table")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"RUNTIME": "FARGATE"}, "RUNTIME='FARGATE' is not supported; expected one of LAMBDA, ECS, EKS"),
        (
            {"RUNTIME": "LAMBDA", "USERS_TABLE": "shop-users"},
            "environment variable ORDERS_TABLE is not set (config key 'orders/table')",
        ),
    ],
)
def test_a_misconfigured_process_exits_at_import_with_one_line(environment: dict[str, str], message: str):
    """Not a 500 on the first request: importing the module (uvicorn's start, Lambda's init) fails."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES} | environment
    result = subprocess.run(
        [sys.executable, "-c", "import monolith.main"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    # One line; it may go on to name more runtimes (exercise fourth-runtime adds one).
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.strip().startswith(f"monolith: cannot start: {message}")


def test_eks_file_without_the_key_is_a_clear_error(tmp_path: Path, unconfigured: pytest.MonkeyPatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"users": {"table": "shop-users"}}))  # no orders section
    unconfigured.setenv("RUNTIME", "EKS")
    unconfigured.setenv("CONFIG_FILE", str(config))
    assert main.setting("users/table") == "shop-users"
    with pytest.raises(main.ConfigurationError, match=r"config key 'orders/table' not found"):
        main.setting("orders/table")


def test_the_lambda_handler_serves_the_same_app(configure: Callable[[str], dict[str, str]]):
    """Mangum turns an ALB event (the talk fronted its function with an ALB) into a request."""
    configure("LAMBDA")

    def invoke(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        event = {
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:::targetgroup/shop"}},
            "httpMethod": method,
            "path": path,
            "queryStringParameters": {},
            "headers": {"content-type": "application/json", "host": "shop.example"},
            "body": json.dumps(body) if body is not None else "",
            "isBase64Encoded": False,
        }
        return main.handler(event, None)

    created = invoke("POST", "/users", ANN)
    assert created["statusCode"] == 201
    user = json.loads(created["body"])
    fetched = invoke("GET", f"/users/{user['id']}")
    assert fetched["statusCode"] == 200
    assert json.loads(fetched["body"]) == user
