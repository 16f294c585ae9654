"""Small HTTP helpers for suites that talk to a deployed shop over its base URL."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def create_user(api: httpx.Client, name: str = "Ada Lovelace", email: str | None = None) -> dict[str, Any]:
    response = api.post("/users", json={"name": name, "email": email or unique_email()})
    assert response.status_code == 201, response.text
    return response.json()


def create_order(
    api: httpx.Client, user_id: str, product: str = "Keyboard", quantity: int = 1
) -> dict[str, Any]:
    response = api.post("/orders", json={"user_id": user_id, "product": product, "quantity": quantity})
    assert response.status_code == 201, response.text
    return response.json()


def list_all(api: httpx.Client, path: str, *, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` tokens until the end; fails on a repeated token (a pagination loop)."""
    items: list[dict[str, Any]] = []
    seen_tokens: set[str] = set()
    token: str | None = None
    while True:
        query = {"limit": limit, **params, **({"next": token} if token else {})}
        response = api.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next"}, body
        items.extend(body["items"])
        token = body["next"]
        if token is None:
            return items
        assert token not in seen_tokens, "pagination returned the same token twice"
        seen_tokens.add(token)


def field_error(response: httpx.Response, field: str, status: int = 422) -> None:
    """Assert a validation error whose JSON `detail` names `field` (FastAPI's shape: loc ends with it)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    named = [entry for entry in detail if entry.get("loc") and entry["loc"][-1] == field]
    assert named, f"no error names {field!r}: {detail}"
