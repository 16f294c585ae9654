"""The HTTP edge, driven through FastAPI's TestClient with in-memory repositories.

What is tested here is the translation: status codes, JSON shapes, which field a 422 names. The
rules themselves are tested in test_domain_model.py; the storage in the repository contract suite.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from clean_shop.adapters.memory_repository import InMemoryOrderRepository, InMemoryUnitOfWork, InMemoryUserRepository
from clean_shop.application.errors import StorageUnavailable
from clean_shop.application.use_cases import CreateOrderUseCase, CreateUserUseCase
from clean_shop.bootstrap import bootstrap
from clean_shop.domain.model import EMAIL_PATTERN, Order
from clean_shop.entrypoints.http import create_app

UNKNOWN = "00000000-0000-4000-8000-000000000000"  # a fixed id: test ids must be stable (pytest-xdist)
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


@pytest.fixture
def client() -> TestClient:
    # The composition root itself, told to use in-memory storage: no AWS, no network.
    container = bootstrap({"RUNTIME": "LAMBDA", "STORAGE": "memory"})
    return TestClient(create_app(container), raise_server_exceptions=False)


@pytest.fixture
def user(client: TestClient) -> dict:
    response = client.post("/users", json={"name": "Ada Lovelace", "email": "ada@example.com"})
    assert response.status_code == 201
    return response.json()


def field_named(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"][-1]


def test_health_names_the_stage_and_the_runtime(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "stage": "clean", "runtime": "LAMBDA"}


def test_create_user_returns_201_and_the_user(client: TestClient) -> None:
    response = client.post("/users", json={"name": "  Ada  ", "email": "ada@example.com"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "email", "created_at"}
    assert (body["name"], body["email"]) == ("  Ada  ", "ada@example.com")  # as sent: nothing trimmed
    assert uuid.UUID(body["id"]).version == 4
    assert ISO_UTC.fullmatch(body["created_at"])
    assert client.get(f"/users/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "ada@example.com"}, "name"),  # a domain rule
        ({"name": 42, "email": "ada@example.com"}, "name"),  # a type, checked at the edge
        ({"name": "Ada", "email": "not-an-email"}, "email"),
        ({"name": "Ada", "email": " ada@example.com"}, "email"),  # whitespace is refused, not trimmed
        ({"name": "Ada"}, "email"),
        ({"name": "Ada", "email": "a@" + "b" * 300 + ".com"}, "email"),
    ],
)
def test_invalid_users_are_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    response = client.post("/users", json=body)
    assert field_named(response) == field
    assert {"loc", "msg", "type"} <= set(response.json()["detail"][0])


def test_a_domain_rule_violation_uses_fastapis_error_shape(client: TestClient) -> None:
    # The edge checks the domain's rule (its pattern, from domain/model.py) before the use case runs.
    response = client.post("/users", json={"name": "Ada", "email": "nope"})
    assert response.json() == {
        "detail": [
            {
                "loc": ["body", "email"],
                "msg": f"String should match pattern '{EMAIL_PATTERN}'",
                "type": "string_pattern_mismatch",
            }
        ]
    }


def test_create_order_returns_a_pending_order(client: TestClient, user: dict) -> None:
    response = client.post("/orders", json={"user_id": user["id"], "product": " tea ", "quantity": 3})
    assert response.status_code == 201
    order = response.json()
    assert set(order) == {"id", "user_id", "product", "quantity", "status", "created_at"}
    assert (order["user_id"], order["product"], order["quantity"], order["status"]) == (
        user["id"],
        " tea ",
        3,
        "pending",
    )
    assert client.get(f"/orders/{order['id']}").json() == order


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "5"}, "quantity"),
        ({"quantity": 5.0}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"product": ""}, "product"),
        ({"product": "x" * 201}, "product"),
        ({"user_id": "not-a-uuid"}, "user_id"),
    ],
)
def test_invalid_orders_are_422_naming_the_field(client: TestClient, user: dict, change, field) -> None:
    body = {"user_id": user["id"], "product": "tea", "quantity": 1, **change}
    assert field_named(client.post("/orders", json=body)) == field


def test_an_order_for_an_unknown_user_is_404_and_stores_nothing(client: TestClient) -> None:
    response = client.post("/orders", json={"user_id": UNKNOWN, "product": "tea", "quantity": 1})
    assert (response.status_code, response.json()) == (404, {"detail": "User not found"})
    assert client.get("/orders").json() == {"items": [], "next": None}


@pytest.mark.parametrize(
    ("path", "detail"),
    [(f"/users/{UNKNOWN}", "User not found"), (f"/orders/{UNKNOWN}", "Order not found")],
)
def test_unknown_ids_are_404(client: TestClient, path: str, detail: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, path)
        assert (response.status_code, response.json()) == (404, {"detail": detail})


@pytest.mark.parametrize("path", ["/users/42", "/orders/not-a-uuid", "/orders?user_id=42"])
def test_ids_that_are_not_uuids_are_422(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 422


def test_delete_is_204_with_no_body_and_keeps_the_users_orders(client: TestClient, user: dict) -> None:
    order = client.post("/orders", json={"user_id": user["id"], "product": "tea", "quantity": 1}).json()
    response = client.delete(f"/users/{user['id']}")
    assert (response.status_code, response.content) == (204, b"")
    assert client.get(f"/users/{user['id']}").status_code == 404
    assert client.get(f"/orders/{order['id']}").status_code == 200
    assert client.delete(f"/orders/{order['id']}").status_code == 204
    assert client.get(f"/orders/{order['id']}").status_code == 404


def test_lists_page_with_limit_and_next(client: TestClient) -> None:
    created = {client.post("/users", json={"name": f"User {n}", "email": f"u{n}@x.io"}).json()["id"] for n in range(5)}
    seen, params, pages = [], {"limit": 2}, 0
    while True:
        page = client.get("/users", params=params).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next"] is None:
            break
        params = {"limit": 2, "next": page["next"]}
    assert sorted(seen) == sorted(created) and pages == 3
    assert client.get("/users").json()["next"] is None  # default limit 20


def test_orders_can_be_listed_per_user(client: TestClient, user: dict) -> None:
    other = client.post("/users", json={"name": "Bob", "email": "bob@example.com"}).json()
    for owner in (user, user, other):
        client.post("/orders", json={"user_id": owner["id"], "product": "tea", "quantity": 1})
    first = client.get("/orders", params={"user_id": user["id"], "limit": 1}).json()
    second = client.get("/orders", params={"user_id": user["id"], "limit": 1, "next": first["next"]}).json()
    assert [o["user_id"] for o in first["items"] + second["items"]] == [user["id"]] * 2
    assert second["next"] is None
    assert len(client.get("/orders").json()["items"]) == 3


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
def test_limit_must_be_1_to_100(client: TestClient, limit: str) -> None:
    response = client.get("/users", params={"limit": limit})
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "",
        "e30",  # {}
        _token(["id"]),
        _token({"id": 5}),
        _token({"id": ""}),
        _token({"id": "x", "extra": "y"}),
        "A" * 5000,
    ],
)
@pytest.mark.parametrize("path", ["/users", "/orders"])
def test_a_tampered_next_token_is_422_on_next(client: TestClient, path: str, token: str) -> None:
    response = client.get(path, params={"next": token})
    assert response.json()["detail"][0]["loc"] == ["query", "next"]


def test_a_token_from_one_users_orders_is_refused_for_another(client: TestClient, user: dict) -> None:
    for _ in range(2):
        client.post("/orders", json={"user_id": user["id"], "product": "tea", "quantity": 1})
    token = client.get("/orders", params={"user_id": user["id"], "limit": 1}).json()["next"]
    response = client.get("/orders", params={"user_id": UNKNOWN, "next": token})
    assert response.json()["detail"][0]["loc"] == ["query", "next"]


HOSTILE_BODIES = [
    b"{",
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"\xff\xfe\x00",
    b"[" * 100_000,
    b'{"name": NaN, "email": Infinity}',
    b'{"name": "ab", "email": ' + b"9" * 5000 + b"}",
    b'{"name": "\\ud800\\udfff\\ud800", "email": "a@b.co"}',
    b'{"user_id": "\\ud800", "product": "\\ud800", "quantity": -Infinity}',
    json.dumps({"name": "x" * 1_000_000, "email": "a@b.co", "product": "x" * 1_000_000}).encode(),
    json.dumps({"name": "Zoë 李 🚀", "email": "zoë@exämple.com", "product": "🍵", "quantity": 1}).encode(),
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=lambda body: repr(body[:24]))
@pytest.mark.parametrize("path", ["/users", "/orders"])
def test_nothing_a_client_sends_is_a_500(client: TestClient, path: str, body: bytes) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    assert "detail" in response.json() or response.status_code == 201


@pytest.mark.parametrize("query", ["next=%ED%A0%80", "next=%FF", "user_id=%00", "limit=%F0%9F%9A%80"])
def test_odd_query_strings_are_not_a_500(client: TestClient, query: str) -> None:
    assert client.get(f"/orders?{query}").status_code == 422


def test_the_openapi_document_builds(client: TestClient) -> None:
    assert "/orders/{order_id}" in client.get("/openapi.json").json()["paths"]


# --- refusals that protect the service: size and storage failures --------------------------------------


def test_a_body_over_64_kib_is_a_413_before_anything_reads_it(client: TestClient, user: dict) -> None:
    too_large = {"detail": "Request body too large: at most 65536 bytes"}
    big = json.dumps({"name": "x" * 70_000, "email": "a@example.com"}).encode()
    response = client.post("/users", content=big, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (413, too_large)
    chunked = client.post("/users", content=iter([big[:40_000], big[40_000:]]))  # no Content-Length
    assert (chunked.status_code, chunked.json()) == (413, too_large)  # Starlette's limit, in the contract's words
    # A DELETE never reads its body: refused on its declared length, before the route runs.
    declared = client.request("DELETE", f"/users/{user['id']}", content=big)
    assert (declared.status_code, declared.json()) == (413, too_large)
    assert client.get("/users").json()["items"] == [user]


def test_docs_render_from_local_assets_behind_a_path_prefix(client: TestClient) -> None:
    # root_path: what an API Gateway stage or a proxy's path prefix tells the app.
    prefixed = TestClient(client.app, root_path="/prod")
    page = prefixed.get("/docs").text
    assert "/prod/openapi.json" in page and "/prod/static-offline-docs/swagger-ui-bundle.js" in page
    assert "cdn" not in page and "https://" not in page
    assert prefixed.get("/prod/static-offline-docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404


class UnavailableOrders(InMemoryOrderRepository):
    """A fake whose storage is down: every write fails the way the DynamoDB adapter reports it."""

    def add(self, order: Order) -> None:
        raise StorageUnavailable("ThrottlingException")


def test_storage_unavailable_is_a_503_with_retry_after_and_nothing_is_stored() -> None:
    container = bootstrap({"RUNTIME": "LAMBDA", "STORAGE": "memory"})
    users, orders = InMemoryUserRepository(), UnavailableOrders()
    container = dataclasses.replace(
        container,
        create_user=CreateUserUseCase(users),
        create_order=CreateOrderUseCase(lambda: InMemoryUnitOfWork(users, orders)),
    )
    client = TestClient(create_app(container))
    user = client.post("/users", json={"name": "Ada", "email": "ada@example.com"}).json()

    response = client.post("/orders", json={"user_id": user["id"], "product": "Mug", "quantity": 1})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert "unavailable" in response.json()["detail"]
    assert orders.list(10).items == []
