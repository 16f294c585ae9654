"""The repository and unit-of-work ports on plain dicts.

Used by the unit tests (milliseconds, no AWS) and by `STORAGE=memory` (run the app with nothing
else installed). It keeps the same promises as the DynamoDB adapter — same paging, same opaque
tokens, same errors for tampered tokens — and tests/integration/test_repository_contract.py runs
one suite against both to keep it that way. A fake that behaves differently from production would
make the fast tests lie.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from clean_shop.adapters import page_token
from clean_shop.application.errors import InvalidPageToken, UserNotFound
from clean_shop.application.ports import OrderRepository, Page, UnitOfWork, UserRepository
from clean_shop.domain.model import Order, User

T = TypeVar("T")


def _timestamp(order: Order) -> str:
    # The same text DynamoDB sorts on (see dynamodb_repository.py), so both order alike.
    return order.created_at.isoformat(timespec="microseconds")


def _page(
    items: Sequence[T],
    limit: int,
    after: tuple[str, ...] | None,
    position: Callable[[T], tuple[str, ...]],
    key: Callable[[T], dict[str, str]],
) -> Page[T]:
    """`limit` items whose position comes after `after`; `items` must be sorted by position."""
    remaining = [item for item in items if after is None or position(item) > after]
    page = remaining[:limit]
    more = len(remaining) > limit
    return Page(items=page, next=page_token.encode(key(page[-1])) if more else None)


class InMemoryUserRepository(UserRepository):
    def __init__(self, users: Iterable[User] = ()) -> None:
        self._users = {user.id: user for user in users}
        # FastAPI runs plain `def` routes in a thread pool: guard the dict like a database would.
        # Re-entrant and public: InMemoryUnitOfWork holds it across a whole commit, reads included.
        self.lock = threading.RLock()

    def add(self, user: User) -> None:
        with self.lock:
            self._users[user.id] = user

    def get(self, user_id: str) -> User | None:
        with self.lock:
            return self._users.get(user_id)

    def list(self, limit: int, next_token: str | None = None) -> Page[User]:
        after = None if next_token is None else (page_token.decode(next_token, ("id",))["id"],)
        with self.lock:
            users = sorted(self._users.values(), key=lambda user: user.id)
        return _page(users, limit, after, lambda user: (user.id,), lambda user: {"id": user.id})

    def delete(self, user_id: str) -> bool:
        with self.lock:
            return self._users.pop(user_id, None) is not None


class InMemoryOrderRepository(OrderRepository):
    def __init__(self, orders: Iterable[Order] = ()) -> None:
        self._orders = {order.id: order for order in orders}
        self._lock = threading.Lock()

    def add(self, order: Order) -> None:
        with self._lock:
            self._orders[order.id] = order

    def get(self, order_id: str) -> Order | None:
        with self._lock:
            return self._orders.get(order_id)

    def list(self, limit: int, next_token: str | None = None) -> Page[Order]:
        after = None if next_token is None else (page_token.decode(next_token, ("id",))["id"],)
        with self._lock:
            orders = sorted(self._orders.values(), key=lambda order: order.id)
        return _page(orders, limit, after, lambda order: (order.id,), lambda order: {"id": order.id})

    def list_by_user(self, user_id: str, limit: int, next_token: str | None = None) -> Page[Order]:
        after = None
        if next_token is not None:
            key = page_token.decode(next_token, ("id", "user_id", "created_at"))
            if key["user_id"] != user_id:
                raise InvalidPageToken("belongs to another user's listing")
            after = (key["created_at"], key["id"])

        def position(order: Order) -> tuple[str, ...]:
            return (_timestamp(order), order.id)

        def key_of(order: Order) -> dict[str, str]:
            return {"id": order.id, "user_id": order.user_id, "created_at": _timestamp(order)}

        with self._lock:
            orders = sorted((o for o in self._orders.values() if o.user_id == user_id), key=position)
        return _page(orders, limit, after, position, key_of)

    def delete(self, order_id: str) -> bool:
        with self._lock:
            return self._orders.pop(order_id, None) is not None


class InMemoryUnitOfWork(UnitOfWork):
    """A unit committed while holding the users' lock: a user cannot be deleted (delete takes the same
    lock) between "does the user exist?" and "store the order"."""

    def __init__(self, users: InMemoryUserRepository, orders: OrderRepository) -> None:
        super().__init__()
        self._users = users
        self._orders = orders

    def commit(self) -> None:
        with self._users.lock:
            for user_id in self.required_users:
                if self._users.get(user_id) is None:
                    raise UserNotFound(user_id)
            for order in self.new_orders:
                self._orders.add(order)
