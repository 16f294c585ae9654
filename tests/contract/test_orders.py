"""Orders: the contract every stage serves, including the talk's flow."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from tests.support.api import create_order, create_user, field_error, list_all


def test_the_talks_flow(api):
    """Create a user, order for that user, and an order for an unknown user is refused and not stored."""
    user = create_user(api, name="Werner")
    order = api.post("/orders", json={"user_id": user["id"], "product": "Graviton mug", "quantity": 2})
    assert order.status_code == 201, order.text
    body = order.json()
    assert set(body) == {"id", "user_id", "product", "quantity", "status", "created_at"}
    assert body["user_id"] == user["id"]
    assert body["product"] == "Graviton mug"
    assert body["quantity"] == 2 and isinstance(body["quantity"], int)
    assert body["status"] == "pending"
    assert uuid.UUID(body["id"]).version == 4
    assert datetime.fromisoformat(body["created_at"]).utcoffset().total_seconds() == 0
    assert api.get(f"/orders/{body['id']}").json() == body

    ghost = str(uuid.uuid4())
    refused = api.post("/orders", json={"user_id": ghost, "product": "Mug", "quantity": 1})
    assert refused.status_code == 404
    assert refused.json() == {"detail": "User not found"}
    assert list_all(api, "/orders", user_id=ghost) == []


def test_order_for_a_deleted_user_is_refused(api):
    user = create_user(api)
    assert api.delete(f"/users/{user['id']}").status_code == 204
    response = api.post("/orders", json={"user_id": user["id"], "product": "Mug", "quantity": 1})
    assert response.status_code == 404
    assert list_all(api, "/orders", user_id=user["id"]) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "5"}, "quantity"),
        ({"quantity": 2.5}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"quantity": 10**30}, "quantity"),
        ({"product": ""}, "product"),
        ({"product": "p" * 201}, "product"),
        ({"product": "p" * 10_000}, "product"),
        ({"product": 7}, "product"),
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"user_id": 12}, "user_id"),
        ({"user_id": None}, "user_id"),
    ],
)
def test_invalid_order_is_rejected_naming_the_field_and_not_stored(api, changes, field):
    user = create_user(api)
    body = {"user_id": user["id"], "product": "Mug", "quantity": 1, **changes}
    field_error(api.post("/orders", json=body), field)
    assert list_all(api, "/orders", user_id=user["id"]) == []


@pytest.mark.parametrize("missing", ["user_id", "product", "quantity"])
def test_missing_order_field_is_named(api, missing):
    user = create_user(api)
    body = {"user_id": user["id"], "product": "Mug", "quantity": 1}
    del body[missing]
    field_error(api.post("/orders", json=body), missing)


def test_order_boundaries_are_accepted(api):
    user = create_user(api)
    assert create_order(api, user["id"], product="p", quantity=1)["quantity"] == 1
    assert create_order(api, user["id"], product="p" * 200, quantity=1000)["quantity"] == 1000
    assert create_order(api, user["id"], product="  as sent  ")["product"] == "  as sent  "  # not trimmed
    assert create_order(api, user["id"], product=" ")["product"] == " "  # 1 character


def test_list_orders_by_user_paginates_and_filters(api):
    alice, bob = create_user(api, name="Alice"), create_user(api, name="Bob")
    alices = {create_order(api, alice["id"], product=f"item {i}")["id"] for i in range(5)}
    bobs = {create_order(api, bob["id"])["id"]}
    first = api.get("/orders", params={"user_id": alice["id"], "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next"] is not None
    listed = list_all(api, "/orders", limit=2, user_id=alice["id"])
    assert [o["id"] for o in listed if o["id"] in alices] == [o["id"] for o in listed]
    assert {o["id"] for o in listed} == alices and len(listed) == 5
    assert {o["id"] for o in list_all(api, "/orders", user_id=bob["id"])} == bobs
    everything = {o["id"] for o in list_all(api, "/orders", limit=3)}
    assert alices | bobs <= everything


def test_list_orders_rejects_bad_query(api):
    field_error(api.get("/orders", params={"user_id": "nope"}), "user_id")
    field_error(api.get("/orders", params={"limit": 0}), "limit")
    field_error(api.get("/orders", params={"limit": 101}), "limit")
    user = create_user(api)
    field_error(api.get("/orders", params={"user_id": user["id"], "next": "garbage"}), "next")


def test_get_and_delete_order(api):
    user = create_user(api)
    order = create_order(api, user["id"])
    assert api.get(f"/orders/{order['id']}").status_code == 200
    assert api.delete(f"/orders/{order['id']}").status_code == 204
    missing = api.get(f"/orders/{order['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Order not found"}
    assert api.delete(f"/orders/{order['id']}").status_code == 404
    field_error(api.get("/orders/not-a-uuid"), "order_id")
    field_error(api.delete("/orders/not-a-uuid"), "order_id")


def test_deleting_a_user_keeps_their_orders(api):
    user = create_user(api)
    order = create_order(api, user["id"])
    assert api.delete(f"/users/{user['id']}").status_code == 204
    assert api.get(f"/orders/{order['id']}").status_code == 200


def test_product_that_is_not_text_is_422(api):
    user = create_user(api)
    raw = b'{"user_id": "' + user["id"].encode() + b'", "product": "Mug \\ud800", "quantity": 1}'
    field_error(api.post("/orders", content=raw, headers={"content-type": "application/json"}), "product")
    assert list_all(api, "/orders", user_id=user["id"]) == []


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity", b"1e309"])
def test_quantity_that_is_not_a_number_is_4xx(api, value):
    user = create_user(api)
    raw = b'{"user_id": "' + user["id"].encode() + b'", "product": "Mug", "quantity": ' + value + b"}"
    response = api.post("/orders", content=raw, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert list_all(api, "/orders", user_id=user["id"]) == []
