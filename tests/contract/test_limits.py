"""Request size: bodies over 64 KiB are refused with 413 and a JSON `detail`, and nothing is stored —
whether the size is declared (Content-Length) or only found out while reading (chunked), and on Lambda
too, where the body reaches the app through the Function URL event and Mangum (docs/contract.md)."""

from __future__ import annotations

import json

import pytest

from tests.support.api import create_user, list_all, unique_email

LIMIT = 64 * 1024
TOO_LARGE = {"detail": f"Request body too large: at most {LIMIT} bytes"}


def big_user(email: str, size: int) -> bytes:
    return json.dumps({"name": "x" * size, "email": email}).encode()


def test_a_body_just_under_the_limit_is_read_and_validated(api):
    body = big_user(unique_email(), LIMIT - 200)
    assert len(body) <= LIMIT
    response = api.post("/users", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422  # read, then the name is too long: the limit did not cut in


@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_body_over_the_limit_is_a_413_and_nothing_is_stored(api, how):
    email = unique_email("big")
    body = big_user(email, 200_000)
    content = body if how == "content-length" else iter([body[i : i + 16_384] for i in range(0, len(body), 16_384)])
    response = api.post("/users", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == TOO_LARGE
    assert not [user for user in list_all(api, "/users") if user["email"] == email]


def test_an_operation_without_a_body_is_refused_too_and_changes_nothing(api):
    # A DELETE never reads its body: the declared length alone must stop it before it deletes.
    user = create_user(api)
    response = api.request("DELETE", f"/users/{user['id']}", content=b"x" * (LIMIT + 1))
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert api.get(f"/users/{user['id']}").status_code == 200


def test_an_order_over_the_limit_is_a_413_too(api):
    user = create_user(api)
    body = json.dumps({"user_id": user["id"], "product": "p" * 100_000, "quantity": 1}).encode()
    response = api.post("/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "detail" in response.json()
    assert list_all(api, "/orders", user_id=user["id"]) == []
