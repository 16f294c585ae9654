"""orders-service business rules: an order belongs to an existing user, and starts out "pending".

"Existing user" is now a question for another service (users_client.py) — asked *before* anything is
stored, so a 404 or a 503 leaves no order behind. The repository is imported directly, as in the
users-service: no seam, so these rules cannot be tested without a DynamoDB.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from orders_service import repository
from orders_service.models import Order, OrderCreate, OrderPage
from orders_service.users_client import UsersClient

PENDING = "pending"


class OrderNotFound(LookupError):
    pass


class UserNotFound(LookupError):
    pass


def create_order(data: OrderCreate, users: UsersClient) -> Order:
    """Raises UserNotFound, or users_client.UsersServiceUnavailable when we cannot tell."""
    if not users.user_exists(data.user_id):
        raise UserNotFound(str(data.user_id))
    order = Order(
        id=str(uuid.uuid4()),
        user_id=str(data.user_id),
        product=data.product,
        quantity=data.quantity,
        status=PENDING,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
    )
    repository.add(order)
    return order


def get_order(order_id: str) -> Order:
    order = repository.get(order_id)
    if order is None:
        raise OrderNotFound(order_id)
    return order


def list_orders(user_id: str | None, limit: int, next_token: str | None = None) -> OrderPage:
    if user_id is None:
        orders, following = repository.list(limit, next_token)
    else:
        orders, following = repository.list_by_user(user_id, limit, next_token)
    return OrderPage(items=orders, next=following)


def delete_order(order_id: str) -> None:
    if not repository.delete(order_id):
        raise OrderNotFound(order_id)
