"""Ports: the interfaces the use cases need from the outside world.

A port says *what* is needed ("store a user", "tell me the users table's name"), never *how*.
Adapters (clean_shop/adapters/) provide the how: DynamoDB, SQLite or a dict for storage (and for
storing several changes as one unit); environment variables, SSM Parameter Store or a mounted file
for configuration. Changing database or runtime means writing or choosing another adapter; nothing in
this package changes.

They are abstract base classes, so an adapter states which port it implements (`class
DynamoDBUserRepository(UserRepository)`) and forgetting a method fails when it is instantiated.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Self, TypeVar

from clean_shop.domain.model import Order, User

T = TypeVar("T")

# Where new ids and timestamps come from: plain functions, so a test can pass `lambda: "id-1"`.
IdGenerator = Callable[[], str]
Clock = Callable[[], datetime]


# A page token is client input: the HTTP edge refuses longer ones, the token codec too (far above any
# key we issue; it bounds the work done on garbage). The same limit in every stage (docs/contract.md).
MAX_PAGE_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. `next` is an opaque token for the following page, None on the last page."""

    items: Sequence[T]
    next: str | None = None


class UserRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, user: User) -> None: ...

    @abc.abstractmethod
    def get(self, user_id: str) -> User | None:
        """The user, or None if there is no user with that id."""

    @abc.abstractmethod
    def list(self, limit: int, next_token: str | None = None) -> Page[User]:
        """Up to `limit` users after `next_token`; raises InvalidPageToken for a token it did not issue."""

    @abc.abstractmethod
    def delete(self, user_id: str) -> bool:
        """Delete the user; False if there was none."""


class OrderRepository(abc.ABC):
    @abc.abstractmethod
    def add(self, order: Order) -> None: ...

    @abc.abstractmethod
    def get(self, order_id: str) -> Order | None: ...

    @abc.abstractmethod
    def list(self, limit: int, next_token: str | None = None) -> Page[Order]:
        """All orders, a page at a time."""

    @abc.abstractmethod
    def list_by_user(self, user_id: str, limit: int, next_token: str | None = None) -> Page[Order]:
        """One user's orders, oldest first, a page at a time."""

    @abc.abstractmethod
    def delete(self, order_id: str) -> bool: ...


class UnitOfWork(abc.ABC):
    """Changes stored together or not at all: the Unit of Work pattern, cut to what the shop needs.

    The use case states the unit — what must still hold when it is stored, and what to write — and
    commit() stores it in one atomic step, so nothing (a user's deletion, say) can happen in between:

        with unit_of_work() as unit:
            unit.require_user(user_id)   # checked at commit, not now
            unit.add_order(order)
            unit.commit()                # UserNotFound if the user is gone by then: nothing stored

    Leaving the `with` block without commit() stores nothing. The adapters make commit() atomic their
    own way: one DynamoDB transaction with a condition check, one SQLite transaction, a lock in memory.
    A unit is used once, by one request: use cases receive a factory (`Callable[[], UnitOfWork]`).
    """

    def __init__(self) -> None:
        self.required_users: list[str] = []
        self.new_orders: list[Order] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Committed or not, the unit is over: what it collected is dropped, never stored later.
        self.required_users.clear()
        self.new_orders.clear()

    def require_user(self, user_id: str) -> None:
        """Store the unit only if this user exists when it is committed."""
        self.required_users.append(user_id)

    def add_order(self, order: Order) -> None:
        self.new_orders.append(order)

    @abc.abstractmethod
    def commit(self) -> None:
        """Store the new orders if every required user exists, as one atomic step.

        Raises UserNotFound (for the first missing user) and stores nothing otherwise.
        """


UnitOfWorkFactory = Callable[[], UnitOfWork]


class ConfigPort(abc.ABC):
    """Where settings come from. The talk's answer to "Lambda reads env vars, ECS reads SSM, EKS reads a
    file": the code asks this port, and each runtime plugs in its own adapter.

    Why in application/ and not adapters/: a port is a need the application states in its own terms;
    the adapters depend on it, never the other way round (the dependency rule).

    Keys are paths such as "users/table" (docs/contract.md); a missing key raises ConfigurationError.
    """

    @abc.abstractmethod
    def get(self, key: str) -> str: ...

    def get_table_name(self, entity: str) -> str:
        """The table that stores `entity` ("users", "orders") — the setting every repository needs."""
        return self.get(f"{entity}/table")
