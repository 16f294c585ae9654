"""Users: the contract every stage serves (docs/contract.md), checked over HTTP."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

import pytest

from tests.support.api import create_user, field_error, list_all, unique_email


def test_create_user_returns_201_with_server_fields(api):
    email = unique_email()
    response = api.post("/users", json={"name": "  Grace Hopper  ", "email": email})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "name", "email", "created_at"}
    assert body["name"] == "  Grace Hopper  "  # as sent: nothing is trimmed
    assert body["email"] == email
    assert uuid.UUID(body["id"]).version == 4
    created = datetime.fromisoformat(body["created_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0


def test_get_user_round_trip_and_unknown_ids(api):
    user = create_user(api)
    assert api.get(f"/users/{user['id']}").json() == user
    missing = api.get(f"/users/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}
    field_error(api.get("/users/not-a-uuid"), "user_id")
    field_error(api.get("/users/" + "x" * 5000), "user_id")


def count_users(api) -> int:
    return len(list_all(api, "/users"))


NAME_100 = "n" * 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com"}, "name"),
        ({"name": "Ada"}, "email"),
        ({"name": " ", "email": "a@example.com"}, "name"),  # 1 character, counted as sent
        ({"name": "n" * 101, "email": "a@example.com"}, "name"),
        ({"name": "x" * 10_000, "email": "a@example.com"}, "name"),
        ({"name": 123, "email": "a@example.com"}, "name"),
        ({"name": ["Ada"], "email": "a@example.com"}, "name"),
        ({"name": None, "email": "a@example.com"}, "name"),
        ({"name": "Ada", "email": "not-an-email"}, "email"),
        ({"name": "Ada", "email": "a@b"}, "email"),
        ({"name": "Ada", "email": "a b@example.com"}, "email"),
        ({"name": "Ada", "email": "a@@example.com"}, "email"),
        ({"name": "Ada", "email": " a@example.com"}, "email"),  # whitespace is refused, not trimmed
        ({"name": "Ada", "email": "a@example.com\n"}, "email"),
        ({"name": "Ada", "email": "a@example.com\u00a0"}, "email"),  # a no-break space
        ({"name": "Ada", "email": ("a" * 64) + "@" + ("d" * 186) + ".com"}, "email"),  # 255 chars
        ({"name": "Ada", "email": 42}, "email"),
    ],
)
def test_invalid_user_is_rejected_naming_the_field_and_not_stored(api, body, field):
    before = count_users(api)
    field_error(api.post("/users", json=body), field)
    assert count_users(api) == before


def test_boundaries_are_accepted(api):
    longest_email = ("a" * 64) + "@" + ("d" * 185) + ".com"  # 254 chars
    assert len(longest_email) == 254
    assert api.post("/users", json={"name": NAME_100, "email": longest_email}).status_code == 201
    assert api.post("/users", json={"name": "Al", "email": unique_email()}).status_code == 201
    assert api.post("/users", json={"name": "  ", "email": unique_email()}).status_code == 201  # 2 as sent
    unicode = api.post("/users", json={"name": "Zoë 李 🚀", "email": unique_email()})
    assert unicode.status_code == 201 and unicode.json()["name"] == "Zoë 李 🚀"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "Ada", "email": ',
        b"not json at all",
        b"[1, 2, 3]",
        b'"just a string"',
        b"",
        b"\xff\xfe\x00",
    ],
)
def test_malformed_bodies_are_4xx_json_never_500(api, raw):
    response = api.post("/users", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert "detail" in response.json()


def test_list_users_paginates_with_opaque_next_token(api):
    mine = {create_user(api, name=f"Page {i}")["id"] for i in range(5)}
    first = api.get("/users", params={"limit": 2})
    assert first.status_code == 200
    assert len(first.json()["items"]) <= 2
    every = list_all(api, "/users", limit=7)
    ids = [u["id"] for u in every]
    assert len(ids) == len(set(ids)), "a user was listed twice"
    assert mine <= set(ids)
    assert all(set(u) == {"id", "name", "email", "created_at"} for u in every)


def test_list_users_default_limit_is_20(api):
    for i in range(21):
        create_user(api, name=f"Default {i}")
    body = api.get("/users").json()
    assert len(body["items"]) == 20
    assert body["next"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_list_users_rejects_bad_limit(api, limit):
    field_error(api.get("/users", params={"limit": limit}), "limit")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "%%%",
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"id": 5}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"id": "x", "other": "y"}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"nope": "x"}).encode()).decode(),
        "A" * 10_000,
    ],
)
def test_tampered_next_token_is_422_on_next(api, token):
    create_user(api)
    field_error(api.get("/users", params={"next": token}), "next")


def test_delete_user(api):
    user = create_user(api)
    deleted = api.delete(f"/users/{user['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(f"/users/{user['id']}").status_code == 404
    again = api.delete(f"/users/{user['id']}")
    assert again.status_code == 404
    assert again.json() == {"detail": "User not found"}
    field_error(api.delete("/users/not-a-uuid"), "user_id")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        # Valid JSON escapes that are not text (lone UTF-16 surrogates): must be a 422, not a crash.
        (b'{"name": "\\ud800", "email": "a@example.com"}', "name"),
        (b'{"name": "Ada \\udfff Lovelace", "email": "a@example.com"}', "name"),
        (b'{"name": ["\\ud800"], "email": "a@example.com"}', "name"),
        (b'{"name": "Ada", "email": "a\\ud800@example.com"}', "email"),
    ],
)
def test_strings_that_are_not_text_are_422(api, raw, field):
    before = count_users(api)
    field_error(api.post("/users", content=raw, headers={"content-type": "application/json"}), field)
    assert count_users(api) == before


@pytest.mark.parametrize(
    "raw",
    [
        # Python's json accepts these non-standard literals; an error message that echoes them breaks.
        b'{"name": NaN, "email": "a@example.com"}',
        b'{"name": "Ada", "email": Infinity}',
        b'{"name": -Infinity, "email": "a@example.com"}',
    ],
)
def test_non_standard_json_numbers_are_4xx(api, raw):
    before = count_users(api)
    response = api.post("/users", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert "detail" in response.json()
    assert count_users(api) == before
