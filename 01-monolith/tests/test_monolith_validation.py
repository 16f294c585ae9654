"""What clients may send and what they get back: a 422 naming the field, never a 500, nothing stored.

All these requests are refused, so they can share one pair of tables (set up once for the module)
and we can check afterwards that none of them left anything behind in DynamoDB.
"""

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from monolith import main
from shopctl.aws.resources import TableNames, delete_tables, ensure_tables, runtime_environment

CONFIG_VARIABLES = ("RUNTIME", "USERS_TABLE", "ORDERS_TABLE", "SSM_PREFIX", "CONFIG_FILE")


def clear_config_caches() -> None:
    main.setting.cache_clear()


@dataclass
class Shop:
    client: TestClient
    tables: TableNames
    user_id: str  # the one user that exists
    dynamodb: Any  # a plain boto3 client, to look behind the app's back

    def stored(self, table: str) -> int:
        return self.dynamodb.scan(TableName=table, Select="COUNT")["Count"]


@pytest.fixture(scope="module")
def shop(local_aws: Any) -> Iterator[Shop]:
    tables = TableNames.for_deployment(f"test-{uuid.uuid4().hex[:10]}")
    ensure_tables(tables)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in CONFIG_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in runtime_environment("LAMBDA", tables.settings()).items():
            monkeypatch.setenv(name, value)
        clear_config_caches()
        client = TestClient(main.app)
        user = client.post("/users", json={"name": "Ann", "email": "ann@example.com"}).json()
        yield Shop(client, tables, user["id"], boto3.client("dynamodb"))
    clear_config_caches()
    delete_tables(tables)


@pytest.fixture
def nothing_stored(shop: Shop) -> Iterator[None]:
    """After the test, the tables hold exactly what they held before: the one user, no orders."""
    yield
    assert (shop.stored(shop.tables.users), shop.stored(shop.tables.orders)) == (1, 0)


def assert_invalid(response: Any, field: str, where: str = "body") -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(error["loc"][0] == where and error["loc"][-1] == field for error in errors), errors


def token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- request bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "a@example.com"}, "name"),
        ({"name": " ", "email": "a@example.com"}, "name"),  # 1 character, counted as sent
        ({"name": "x" * 101, "email": "a@example.com"}, "name"),
        ({"name": "x" * 10_000, "email": "a@example.com"}, "name"),
        ({"name": 123, "email": "a@example.com"}, "name"),
        ({"name": None, "email": "a@example.com"}, "name"),
        ({"name": ["Ann"], "email": "a@example.com"}, "name"),
        ({"email": "a@example.com"}, "name"),
        ({"name": "Ann", "email": "not-an-email"}, "email"),
        ({"name": "Ann", "email": "ann example@example.com"}, "email"),
        ({"name": "Ann", "email": "ann@ex@ample.com"}, "email"),
        ({"name": "Ann", "email": "ann@localhost"}, "email"),
        ({"name": "Ann", "email": "   "}, "email"),
        ({"name": "Ann", "email": " ann@example.com"}, "email"),  # whitespace is not trimmed: refused
        ({"name": "Ann", "email": "ann@example.com\n"}, "email"),
        ({"name": "Ann", "email": "ann@example.com\u2003"}, "email"),  # an em space is whitespace too
        ({"name": "Ann", "email": "a@" + "b" * 250 + ".com"}, "email"),  # 256 characters
        ({"name": "Ann", "email": 42}, "email"),
        ({"name": "Ann"}, "email"),
    ],
)
def test_invalid_user_is_a_422_naming_the_field(
    shop: Shop, nothing_stored: None, body: dict[str, Any], field: str
):
    assert_invalid(shop.client.post("/users", json=body), field)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product": ""}, "product"),
        ({"product": "p" * 201}, "product"),
        ({"product": 7}, "product"),
        ({"quantity": "5"}, "quantity"),
        ({"quantity": 5.0}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"user_id": 42}, "user_id"),
    ],
)
def test_invalid_order_is_a_422_naming_the_field(
    shop: Shop, nothing_stored: None, changes: dict[str, Any], field: str
):
    body = {"user_id": shop.user_id, "product": "book", "quantity": 1, **changes}
    assert_invalid(shop.client.post("/orders", json=body), field)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",  # malformed JSON
        b"",
        b"[]",
        b'"just a string"',
        b'{"name": "\\ud800\\ud800", "email": "a@example.com"}',  # lone surrogates: valid JSON, not text
        b'{"name": ["\\ud800"], "email": "a@example.com"}',  # …and echoed back in the 422
        b"\xff\xfe not UTF-8",
    ],
)
def test_whatever_the_client_sends_is_never_a_500(shop: Shop, nothing_stored: None, raw: bytes):
    for path in ("/users", "/orders"):
        response = shop.client.post(path, content=raw, headers={"content-type": "application/json"})
        assert response.status_code in (400, 422), response.text
        assert "detail" in response.json()


# --- request size --------------------------------------------------------------------------------------

TOO_LARGE = {"detail": "Request body too large: at most 65536 bytes"}


def test_a_declared_oversized_body_is_a_json_413_before_any_route_runs(shop: Shop, nothing_stored: None):
    # DELETE never reads its body: Starlette's limit alone would delete first, then answer a plain-text 413.
    response = shop.client.request("DELETE", f"/users/{shop.user_id}", content=b"x" * 70_000)
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


def test_an_oversized_body_without_a_length_is_a_json_413_while_it_is_read(shop: Shop, nothing_stored: None):
    body = json.dumps({"name": "x" * 70_000, "email": "big@example.com"}).encode()
    chunks = iter([body[i : i + 16_384] for i in range(0, len(body), 16_384)])  # chunked: no Content-Length
    response = shop.client.post("/users", content=chunks, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (413, TOO_LARGE)


# --- query strings and paths ----------------------------------------------------------------------------


def test_limit_outside_1_to_100_is_a_422(shop: Shop):
    for limit in ("0", "101", "-5", "ten", "1e3"):
        for path in ("/users", "/orders"):
            assert_invalid(shop.client.get(path, params={"limit": limit}), "limit", where="query")


def test_ids_must_be_uuids(shop: Shop, nothing_stored: None):
    for path in ("/users/42", "/users/not-a-uuid", "/orders/42", "/orders/%ED%A0%80"):
        for call in (shop.client.get, shop.client.delete):
            response = call(path)
            assert response.status_code == 422, path
            assert response.json()["detail"][0]["loc"][0] == "path"
    assert_invalid(shop.client.get("/orders", params={"user_id": "nope"}), "user_id", where="query")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "!!!",
        "not a token",
        token([]),
        token("id"),
        token({}),
        token({"id": 5}),
        token({"id": ""}),
        token({"id": None}),
        token({"nope": "x"}),
        token({"id": "x", "extra": "y"}),
        token({"id": {"S": "x"}}),  # DynamoDB's own key format is not accepted either
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        base64.urlsafe_b64encode(b"[" * 700).decode(),
        "A" * 5000,
    ],
)
def test_tampered_next_token_is_a_422_never_a_500(shop: Shop, bad: str):
    get = shop.client.get
    assert_invalid(get("/users", params={"next": bad}), "next", where="query")
    assert_invalid(get("/orders", params={"next": bad}), "next", where="query")
    assert_invalid(get("/orders", params={"next": bad, "user_id": shop.user_id}), "next", where="query")
