"""users-service on its own: CRUD, the contract's validation rules, paging and hostile `next` tokens.

Note what every test here needs: a DynamoDB (moto). The service layer calls the boto3 repository
directly, so there is nothing to swap in.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import datetime, timedelta

import boto3
import pytest
from fastapi.testclient import TestClient

from shopctl.aws.resources import TableNames
from users_service.main import app as users_app
from users_service.main import handler

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


@pytest.fixture
def rejecting_api(shared_lambda_env: TableNames) -> TestClient:
    """The users-service for tests where every request must be rejected (shared, empty tables)."""
    return TestClient(users_app)


def token(payload: object) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def stored_users(tables: TableNames) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=tables.users)["Items"]


def test_create_get_delete_round_trip(users_api: TestClient, lambda_env: TableNames) -> None:
    created = users_api.post("/users", json={"name": "  Ada Lovelace ", "email": "ada@example.com"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert set(user) == {"id", "name", "email", "created_at"}
    assert uuid.UUID(user["id"]).version == 4
    assert (user["name"], user["email"]) == ("  Ada Lovelace ", "ada@example.com")  # as sent: nothing trimmed
    assert datetime.fromisoformat(user["created_at"]).utcoffset() == timedelta(0)

    # It really is in DynamoDB, as plain strings.
    item = boto3.client("dynamodb").get_item(TableName=lambda_env.users, Key={"id": {"S": user["id"]}})
    assert item["Item"]["email"] == {"S": "ada@example.com"}

    assert users_api.get(f"/users/{user['id']}").json() == user
    assert users_api.get(f"/users/{user['id'].upper()}").json() == user  # any UUID spelling

    deleted = users_api.delete(f"/users/{user['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    for response in (users_api.get(f"/users/{user['id']}"), users_api.delete(f"/users/{user['id']}")):
        assert (response.status_code, response.json()) == (404, {"detail": "User not found"})


@pytest.mark.parametrize("method", ["get", "delete"])
def test_user_id_must_be_a_uuid(rejecting_api: TestClient, method: str) -> None:
    response = getattr(rejecting_api, method)("/users/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "user_id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "a@example.com"}, "name"),
        ({"name": " ", "email": "a@example.com"}, "name"),  # 1 character, counted as sent
        ({"name": "x" * 101, "email": "a@example.com"}, "name"),
        ({"name": "x" * 10_000, "email": "a@example.com"}, "name"),
        ({"name": 123, "email": "a@example.com"}, "name"),
        ({"name": None, "email": "a@example.com"}, "name"),
        ({"email": "a@example.com"}, "name"),
        ({"name": "Ada", "email": "not-an-email"}, "email"),
        ({"name": "Ada", "email": "ada@localhost"}, "email"),
        ({"name": "Ada", "email": "a da@example.com"}, "email"),
        ({"name": "Ada", "email": "ada@@example.com"}, "email"),
        ({"name": "Ada", "email": " ada@example.com\n"}, "email"),  # whitespace is refused, not trimmed
        ({"name": "Ada", "email": "a" * 250 + "@example.com"}, "email"),
        ({"name": "Ada", "email": ["ada@example.com"]}, "email"),
        ({"name": "Ada"}, "email"),
    ],
)
def test_invalid_users_are_422_naming_the_field(
    rejecting_api: TestClient, shared_lambda_env: TableNames, body: dict, field: str
) -> None:
    response = rejecting_api.post("/users", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][-1] == field
    assert set(detail[0]) == {"loc", "msg", "type"}  # the client's input is not echoed back
    assert stored_users(shared_lambda_env) == []


def test_unicode_names_are_kept(users_api: TestClient) -> None:
    user = users_api.post("/users", json={"name": "Zoë 🚀 Ōkubo", "email": "zoë@例え.jp"}).json()
    assert users_api.get(f"/users/{user['id']}").json()["name"] == "Zoë 🚀 Ōkubo"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"name": "Ada", "email": ', "application/json"),
        (b'{"name": NaN, "email": "a@example.com"}', "application/json"),
        (b'{"name": "\\ud800 lone surrogate", "email": "a@example.com"}', "application/json"),
        (b'{"name": "Ada", "email": "\\udfff@example.com"}', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"\xff\xfe\x00", "text/plain"),
        (b"[]", "application/json"),
        (b'"Ada"', "application/json"),
        (b"[" * 50_000, "application/json"),
        (b'{"name": "Ada", "email": "a@example.com"', ""),
    ],
)
def test_malformed_bodies_are_client_errors(
    rejecting_api: TestClient, shared_lambda_env: TableNames, content: bytes, content_type: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = rejecting_api.post("/users", content=content, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert "detail" in response.json()
    assert stored_users(shared_lambda_env) == []


def test_paging_walks_every_user_once(users_api: TestClient) -> None:
    created = {users_api.post("/users", json={**ADA, "name": f"User {i}"}).json()["id"] for i in range(5)}
    seen, sizes, next_token = [], [], None
    while True:
        params = {"limit": 2, **({"next": next_token} if next_token else {})}
        page = users_api.get("/users", params=params).json()
        seen += [user["id"] for user in page["items"]]
        sizes.append(len(page["items"]))
        next_token = page["next"]
        if next_token is None:
            break
    assert sorted(seen) == sorted(created)
    assert all(size <= 2 for size in sizes)

    everything = users_api.get("/users").json()  # default limit 20
    assert len(everything["items"]) == 5 and everything["next"] is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5"])
def test_limit_outside_1_to_100_is_422(rejecting_api: TestClient, limit: str) -> None:
    response = rejecting_api.get("/users", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    "bad",
    [
        "garbage!",
        "abc",
        "====",
        "A" * 5000,
        token(["id"]),
        token("just a string"),
        token({"id": 1}),
        token({"id": ""}),
        token({"id": "x", "extra": "y"}),
        token({"ID": "x"}),
        token({}),
        token(b"not json at all"),
        token(b"\xff\xfe\xfd"),
        token(b"[" * 700),
    ],
)
def test_tampered_next_token_is_422_never_500(rejecting_api: TestClient, bad: str) -> None:
    response = rejecting_api.get("/users", params={"limit": 1, "next": bad})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "next"]


def test_health_names_stage_and_runtime(users_api: TestClient) -> None:
    response = users_api.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "stage": "microservices",
        "runtime": "LAMBDA",
    }


def test_lambda_handler_serves_the_same_app(lambda_env: TableNames) -> None:
    """An ALB event, as Lambda would deliver it, through Mangum into the same FastAPI app."""
    event = {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:0:tg/shop/1"}},
        "httpMethod": "POST",
        "path": "/users",
        "queryStringParameters": {},
        "headers": {"host": "shop.example", "content-type": "application/json"},
        "body": json.dumps(ADA),
        "isBase64Encoded": False,
    }
    # Mangum asks asyncio for the main thread's event loop: after an asyncio.run() earlier in this pytest process
    # (another suite's test under -n 2) there is none, where a Lambda runtime's main thread never ran one. One is
    # set and left, as asyncio would have made one itself.
    asyncio.set_event_loop(asyncio.new_event_loop())
    response = handler(event, None)
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["email"] == ADA["email"]
