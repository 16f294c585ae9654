"""The use cases: one class per thing the shop can do.

Each receives the ports it needs in its constructor (dependency inversion): it depends on
`UserRepository`, not on DynamoDB. Production passes DynamoDB adapters (see bootstrap.py), unit tests
pass in-memory ones, and the use case cannot tell the difference. A change that must be stored as a
whole goes through a `UnitOfWork`: the use case states the unit, the adapter makes it atomic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from clean_shop.application.errors import OrderNotFound, UserNotFound
from clean_shop.application.ports import (
    Clock,
    IdGenerator,
    OrderRepository,
    Page,
    UnitOfWorkFactory,
    UserRepository,
)
from clean_shop.domain.model import Order, User

DEFAULT_PAGE_SIZE = 20


def new_id() -> str:
    return str(uuid.uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- users -------------------------------------------------------------------------------------------


class CreateUserUseCase:
    def __init__(self, users: UserRepository, *, ids: IdGenerator = new_id, clock: Clock = utc_now) -> None:
        self._users = users
        self._ids = ids
        self._clock = clock

    def execute(self, name: str, email: str) -> User:
        user = User.register(name, email, id=self._ids(), created_at=self._clock())
        self._users.add(user)
        return user


class GetUserUseCase:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    def execute(self, user_id: str) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise UserNotFound(user_id)
        return user


class ListUsersUseCase:
    def __init__(self, users: UserRepository) -> None:
        self._users = users

    def execute(self, limit: int = DEFAULT_PAGE_SIZE, next_token: str | None = None) -> Page[User]:
        return self._users.list(limit, next_token)


class DeleteUserUseCase:
    """Deletes the user only; their orders stay (the contract promises nothing more)."""

    def __init__(self, users: UserRepository) -> None:
        self._users = users

    def execute(self, user_id: str) -> None:
        if not self._users.delete(user_id):
            raise UserNotFound(user_id)


# --- orders ------------------------------------------------------------------------------------------


class CreateOrderUseCase:
    """Places an order for an existing user.

    "An order belongs to an existing user" needs both tables, so it is enforced here rather than in the
    domain model — and as one unit of work: "the user exists" and "store the order" are committed
    together, so a user deleted at the same moment cannot end up with an order written after them
    (docs/contract.md, Concurrency). Unknown or just-deleted user: UserNotFound, and nothing is stored.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        *,
        ids: IdGenerator = new_id,
        clock: Clock = utc_now,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._ids = ids
        self._clock = clock

    def execute(self, user_id: str, product: str, quantity: int) -> Order:
        # Check the order's own fields first: it costs nothing, while the unit of work is I/O.
        order = Order.place(user_id, product, quantity, id=self._ids(), created_at=self._clock())
        with self._unit_of_work() as unit:
            unit.require_user(user_id)
            unit.add_order(order)
            unit.commit()
        return order


class GetOrderUseCase:
    def __init__(self, orders: OrderRepository) -> None:
        self._orders = orders

    def execute(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order


class ListOrdersUseCase:
    def __init__(self, orders: OrderRepository) -> None:
        self._orders = orders

    def execute(
        self, user_id: str | None = None, limit: int = DEFAULT_PAGE_SIZE, next_token: str | None = None
    ) -> Page[Order]:
        if user_id is None:
            return self._orders.list(limit, next_token)
        return self._orders.list_by_user(user_id, limit, next_token)


class DeleteOrderUseCase:
    def __init__(self, orders: OrderRepository) -> None:
        self._orders = orders

    def execute(self, order_id: str) -> None:
        if not self._orders.delete(order_id):
            raise OrderNotFound(order_id)
