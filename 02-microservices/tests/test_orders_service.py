"""orders-service: orders, and the question it now has to ask over the network — "does this user exist?".

The users client is injected (FastAPI Depends): most tests hand it TestClient(users_app), the real
users-service called in-process; the failure tests hand it a closed port or an httpx.MockTransport.
The repository is *not* injectable, so every test still needs DynamoDB (moto).
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from orders_service.main import app as orders_app
from orders_service.users_client import http_client
from shopctl.aws.resources import TableNames
from shopctl.local.net import free_port


def stored_orders(tables: TableNames) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables.orders)["Items"]


def new_user(users_api: TestClient, name: str = "Ada Lovelace") -> str:
    response = users_api.post("/users", json={"name": name, "email": "ada@example.com"})
    assert response.status_code == 201
    return response.json()["id"]


def order_body(user_id: str, **changes: object) -> dict:
    return {"user_id": user_id, "product": "Analytical Engine", "quantity": 2, **changes}


def invalid_body(changes: dict) -> dict:
    return {**order_body(str(uuid.uuid4())), **changes}


def token(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.fixture
def users_via() -> Iterator[Callable[[httpx.Client], TestClient]]:
    """users_via(client): the orders-service with `client` as its connection to the users-service."""

    def build(client: httpx.Client) -> TestClient:
        orders_app.dependency_overrides[http_client] = lambda: client
        return TestClient(orders_app)

    try:
        yield build
    finally:
        orders_app.dependency_overrides.clear()


def test_order_for_an_existing_user(
    users_api: TestClient, orders_api: TestClient, lambda_env: TableNames
) -> None:
    user_id = new_user(users_api)
    created = orders_api.post("/orders", json=order_body(user_id, product="  Difference Engine "))
    assert created.status_code == 201, created.text
    order = created.json()
    assert set(order) == {"id", "user_id", "product", "quantity", "status", "created_at"}
    assert uuid.UUID(order["id"]).version == 4
    assert (order["user_id"], order["product"], order["quantity"], order["status"]) == (
        user_id,
        "  Difference Engine ",  # as sent: nothing trimmed
        2,
        "pending",
    )

    [item] = stored_orders(lambda_env)
    assert item["quantity"] == {"N": "2"}  # a DynamoDB Number, returned to clients as a JSON integer

    fetched = orders_api.get(f"/orders/{order['id']}")
    assert fetched.json() == order and isinstance(fetched.json()["quantity"], int)
    deleted = orders_api.delete(f"/orders/{order['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    for response in (orders_api.get(f"/orders/{order['id']}"), orders_api.delete(f"/orders/{order['id']}")):
        assert (response.status_code, response.json()) == (404, {"detail": "Order not found"})


def test_unknown_user_is_404_and_nothing_is_stored(orders_api: TestClient, lambda_env: TableNames) -> None:
    response = orders_api.post("/orders", json=order_body(str(uuid.uuid4())))
    assert (response.status_code, response.json()) == (404, {"detail": "User not found"})
    assert stored_orders(lambda_env) == []


def test_deleted_user_cannot_order_but_keeps_old_orders(
    users_api: TestClient, orders_api: TestClient, lambda_env: TableNames
) -> None:
    user_id = new_user(users_api)
    order = orders_api.post("/orders", json=order_body(user_id)).json()
    assert users_api.delete(f"/users/{user_id}").status_code == 204
    assert orders_api.post("/orders", json=order_body(user_id)).status_code == 404
    assert orders_api.get(f"/orders/{order['id']}").status_code == 200  # the contract promises no cascade
    assert len(stored_orders(lambda_env)) == 1


def test_users_service_unreachable_is_503_and_nothing_is_stored(
    orders_api: TestClient, lambda_env: TableNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders_app.dependency_overrides.clear()  # the real network client this time…
    monkeypatch.setenv("USERS_SERVICE_URL", f"http://127.0.0.1:{free_port()}")  # …aimed at a closed port
    started = time.monotonic()
    response = orders_api.post("/orders", json=order_body(str(uuid.uuid4())))
    assert response.status_code == 503
    assert response.json()["detail"].startswith("users-service unavailable: ")
    assert time.monotonic() - started < 2
    assert stored_orders(lambda_env) == []


def test_users_service_too_slow_is_503_after_the_timeout(
    orders_api: TestClient, lambda_env: TableNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders_app.dependency_overrides.clear()
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("USERS_SERVICE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("USERS_SERVICE_TIMEOUT", "0.3")
        started = time.monotonic()
        response = orders_api.post("/orders", json=order_body(str(uuid.uuid4())))
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "users-service unavailable: timed out"},
    )
    assert time.monotonic() - started < 2
    assert stored_orders(lambda_env) == []


def _answer(status: int) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json={"detail": "whatever"})


def _fail(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


@pytest.mark.parametrize(
    ("users_service", "reason"),
    [
        (_answer(500), "it answered HTTP 500"),
        (_answer(502), "it answered HTTP 502"),
        (_answer(401), "it answered HTTP 401"),
        (_fail(httpx.ReadTimeout), "timed out"),
        (_fail(httpx.ConnectError), "simulated"),
        (_fail(httpx.RemoteProtocolError), "simulated"),
    ],
)
def test_users_service_failures_are_503(
    users_via: Callable[[httpx.Client], TestClient],
    shared_lambda_env: TableNames,
    users_service: Callable[[httpx.Request], httpx.Response],
    reason: str,
) -> None:
    client = httpx.Client(base_url="http://users-service", transport=httpx.MockTransport(users_service))
    response = users_via(client).post("/orders", json=order_body(str(uuid.uuid4())))
    assert (response.status_code, response.json()) == (
        503,
        {"detail": f"users-service unavailable: {reason}"},
    )
    assert stored_orders(shared_lambda_env) == []


def test_the_users_service_is_asked_over_its_public_api(
    users_via: Callable[[httpx.Client], TestClient], lambda_env: TableNames
) -> None:
    asked: list[str] = []

    def users_service(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={})

    user_id = str(uuid.uuid4())
    client = httpx.Client(base_url="http://users-service", transport=httpx.MockTransport(users_service))
    assert users_via(client).post("/orders", json=order_body(user_id)).status_code == 201
    assert asked == [f"GET /users/{user_id}"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "5"}, "quantity"),
        ({"quantity": 5.0}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": 10**40}, "quantity"),
        ({"product": ""}, "product"),
        ({"product": "x" * 201}, "product"),
        ({"product": "x" * 10_000}, "product"),
        ({"product": 7}, "product"),
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"user_id": 42}, "user_id"),
        ({"user_id": None}, "user_id"),
    ],
)
def test_invalid_orders_are_422_before_asking_anyone(
    users_via: Callable[[httpx.Client], TestClient], shared_lambda_env: TableNames, changes: dict, field: str
) -> None:
    def users_service(request: httpx.Request) -> httpx.Response:
        raise AssertionError("an invalid order must not reach the users-service")

    client = httpx.Client(base_url="http://users-service", transport=httpx.MockTransport(users_service))
    response = users_via(client).post("/orders", json=invalid_body(changes))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    assert stored_orders(shared_lambda_env) == []


def test_missing_fields_are_named(orders_api: TestClient) -> None:
    response = orders_api.post("/orders", json={})
    assert response.status_code == 422
    assert {error["loc"][-1] for error in response.json()["detail"]} == {"user_id", "product", "quantity"}


def test_listing_by_user_uses_the_index_and_pages(users_api: TestClient, orders_api: TestClient) -> None:
    ada, bob = new_user(users_api, "Ada"), new_user(users_api, "Bob")
    ada_orders = [orders_api.post("/orders", json=order_body(ada, quantity=q)).json() for q in (1, 2, 3)]
    orders_api.post("/orders", json=order_body(bob))

    everything = orders_api.get("/orders", params={"user_id": ada}).json()
    assert everything == {"items": ada_orders, "next": None}  # oldest first: the index's range key

    pages, next_token = [], None
    while True:
        params = {"user_id": ada, "limit": 2, **({"next": next_token} if next_token else {})}
        page = orders_api.get("/orders", params=params).json()
        pages.append([order["quantity"] for order in page["items"]])
        next_token = page["next"]
        if next_token is None:
            break
    assert [q for page in pages for q in page] == [1, 2, 3]

    assert len(orders_api.get("/orders").json()["items"]) == 4  # no user_id: every order
    assert orders_api.get("/orders", params={"user_id": str(uuid.uuid4())}).json() == {
        "items": [],
        "next": None,
    }


def test_user_id_filter_must_be_a_uuid(orders_api: TestClient) -> None:
    response = orders_api.get("/orders", params={"user_id": "ada"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "user_id"]


def test_tampered_or_foreign_tokens_are_422(users_api: TestClient, orders_api: TestClient) -> None:
    ada, bob = new_user(users_api, "Ada"), new_user(users_api, "Bob")
    for user_id in (ada, ada, bob, bob):
        orders_api.post("/orders", json=order_body(user_id))
    ada_token = orders_api.get("/orders", params={"user_id": ada, "limit": 1}).json()["next"]
    scan_token = orders_api.get("/orders", params={"limit": 1}).json()["next"]
    assert ada_token and scan_token

    attempts = [
        {"user_id": bob, "next": ada_token},  # another user's listing
        {"next": ada_token},  # an index token for a table scan
        {"user_id": ada, "next": scan_token},  # a scan token for an index query
        {"next": "garbage!"},
        {"user_id": ada, "next": token({"id": "x", "user_id": ada, "created_at": 5})},
        {"user_id": ada, "next": token({"id": "x", "user_id": ada})},
    ]
    for params in attempts:
        response = orders_api.get("/orders", params={"limit": 1, **params})
        assert response.status_code == 422, (params, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "next"]


def test_health_names_stage_and_runtime(orders_api: TestClient) -> None:
    assert orders_api.get("/health").json() == {
        "status": "ok",
        "stage": "microservices",
        "runtime": "LAMBDA",
    }
