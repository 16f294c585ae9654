"""Use cases with in-memory repositories: the whole application logic in milliseconds, no AWS.

The in-memory adapters are the same ones `STORAGE=memory` uses, and the repository contract suite
(tests/integration/test_repository_contract.py) proves they behave like the DynamoDB ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import pytest

from clean_shop.adapters.memory_repository import InMemoryOrderRepository, InMemoryUnitOfWork, InMemoryUserRepository
from clean_shop.application.errors import OrderNotFound, UserNotFound
from clean_shop.application.use_cases import (
    CreateOrderUseCase,
    CreateUserUseCase,
    DeleteOrderUseCase,
    DeleteUserUseCase,
    GetOrderUseCase,
    GetUserUseCase,
    ListOrdersUseCase,
    ListUsersUseCase,
)
from clean_shop.domain.errors import InvalidField
from clean_shop.domain.model import Order, OrderStatus, User

UNKNOWN = "ffffffff-ffff-4fff-bfff-ffffffffffff"


@pytest.fixture
def users() -> InMemoryUserRepository:
    return InMemoryUserRepository()


@pytest.fixture
def orders() -> InMemoryOrderRepository:
    return InMemoryOrderRepository()


@pytest.fixture
def create_user(users: InMemoryUserRepository, ids: Callable[[], str], clock: Callable[[], datetime]):
    return CreateUserUseCase(users, ids=ids, clock=clock)


@pytest.fixture
def create_order(
    orders: InMemoryOrderRepository,
    users: InMemoryUserRepository,
    ids: Callable[[], str],
    clock: Callable[[], datetime],
):
    return CreateOrderUseCase(lambda: InMemoryUnitOfWork(users, orders), ids=ids, clock=clock)


def test_create_user_stores_a_user_with_an_id_and_timestamp_from_its_collaborators(
    create_user: CreateUserUseCase, users: InMemoryUserRepository
) -> None:
    user = create_user.execute(" Ada ", "ada@example.com")
    assert user.id == "00000000-0000-4000-8000-000000000001"
    assert user.created_at.isoformat() == "2026-11-23T09:00:00.123456+00:00"
    assert users.get(user.id) == user


def test_create_user_stores_nothing_when_a_rule_is_broken(
    create_user: CreateUserUseCase, users: InMemoryUserRepository
) -> None:
    with pytest.raises(InvalidField):
        create_user.execute("A", "ada@example.com")
    assert users.list(10).items == []


def test_default_ids_are_uuid4_and_default_clock_is_utc(users: InMemoryUserRepository) -> None:
    user = CreateUserUseCase(users).execute("Ada", "ada@example.com")
    assert len(user.id) == 36 and user.id[14] == "4"
    assert user.created_at.utcoffset().total_seconds() == 0


def test_get_user_returns_it_or_raises_user_not_found(create_user: CreateUserUseCase, users) -> None:
    user = create_user.execute("Ada", "ada@example.com")
    assert GetUserUseCase(users).execute(user.id) == user
    with pytest.raises(UserNotFound):
        GetUserUseCase(users).execute(UNKNOWN)


def test_list_users_pages_through_everyone(create_user: CreateUserUseCase, users) -> None:
    created = {create_user.execute(f"User {n}", f"u{n}@example.com").id for n in range(5)}
    first = ListUsersUseCase(users).execute(limit=3)
    second = ListUsersUseCase(users).execute(limit=3, next_token=first.next)
    assert len(first.items) == 3 and second.next is None
    assert {user.id for user in [*first.items, *second.items]} == created


def test_delete_user_removes_it_and_reports_unknown_users(create_user: CreateUserUseCase, users) -> None:
    user = create_user.execute("Ada", "ada@example.com")
    DeleteUserUseCase(users).execute(user.id)
    assert users.get(user.id) is None
    with pytest.raises(UserNotFound):
        DeleteUserUseCase(users).execute(user.id)


def test_create_order_for_an_existing_user_is_pending(create_user, create_order, orders) -> None:
    user = create_user.execute("Ada", "ada@example.com")
    order = create_order.execute(user.id, " tea ", 2)
    assert (order.user_id, order.product, order.quantity) == (user.id, " tea ", 2)
    assert order.status is OrderStatus.PENDING
    assert orders.get(order.id) == order


def test_create_order_for_an_unknown_user_stores_nothing(create_order, orders) -> None:
    with pytest.raises(UserNotFound):
        create_order.execute(UNKNOWN, "tea", 2)
    assert orders.list(10).items == []


class LoggedOrders(InMemoryOrderRepository):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self._log = log

    def add(self, order: Order) -> None:
        super().add(order)
        self._log.append("order stored")


class DeletedRightAfterTheCheck(InMemoryUserRepository):
    """A user store where another request deletes the user the moment anyone has checked it exists.

    The deletion runs on its own thread, as a concurrent DELETE /users/{id} would; the check waits for
    it up to `patience` seconds, the time a real deletion needs to slip in.
    """

    def __init__(self, log: list[str], patience: float = 0.3) -> None:
        super().__init__()
        self._log, self._patience = log, patience
        self.deleter: threading.Thread | None = None

    def get(self, user_id: str) -> User | None:
        user = super().get(user_id)
        if user is not None and self.deleter is None:
            self.deleter = threading.Thread(target=self._delete, args=(user_id,))
            self.deleter.start()
            self.deleter.join(self._patience)
        return user

    def _delete(self, user_id: str) -> None:
        DeleteUserUseCase(self).execute(user_id)
        self._log.append("user deleted")


def test_a_user_deleted_during_order_creation_never_gets_an_order_written_after_it(
    create_user: CreateUserUseCase,
) -> None:
    """The race `make verify` measures: check the user, the user is deleted, the order is written."""
    log: list[str] = []
    users, orders = DeletedRightAfterTheCheck(log), LoggedOrders(log)
    user = CreateUserUseCase(users).execute("Ada", "ada@example.com")
    create_order = CreateOrderUseCase(lambda: InMemoryUnitOfWork(users, orders))

    try:
        order = create_order.execute(user.id, "tea", 1)
    except UserNotFound:
        order = None
    assert users.deleter is not None
    users.deleter.join(5)

    assert users.get(user.id) is None  # the deletion went through, as it must
    if order is not None:  # stored while the user still existed: an order the deletion leaves behind
        assert log == ["order stored", "user deleted"]
    else:
        assert log == ["user deleted"] and orders.list(10).items == []


def test_create_order_checks_its_own_fields_before_asking_for_the_user(create_order) -> None:
    with pytest.raises(InvalidField) as caught:
        create_order.execute(UNKNOWN, "tea", 0)
    assert caught.value.field == "quantity"


def test_get_and_delete_order(create_user, create_order, orders) -> None:
    order = create_order.execute(create_user.execute("Ada", "ada@example.com").id, "tea", 1)
    assert GetOrderUseCase(orders).execute(order.id) == order
    DeleteOrderUseCase(orders).execute(order.id)
    with pytest.raises(OrderNotFound):
        GetOrderUseCase(orders).execute(order.id)
    with pytest.raises(OrderNotFound):
        DeleteOrderUseCase(orders).execute(order.id)


def test_list_orders_for_one_user_or_for_everyone(create_user, create_order, orders) -> None:
    ada = create_user.execute("Ada", "ada@example.com")
    bob = create_user.execute("Bob", "bob@example.com")
    adas = [create_order.execute(ada.id, f"item {n}", 1) for n in range(3)]
    create_order.execute(bob.id, "coffee", 1)
    list_orders = ListOrdersUseCase(orders)
    assert list_orders.execute(user_id=ada.id).items == adas  # oldest first
    assert len(list_orders.execute().items) == 4
    assert list_orders.execute(user_id=UNKNOWN).items == []


def test_deleting_a_user_keeps_their_orders(create_user, create_order, users, orders) -> None:
    user = create_user.execute("Ada", "ada@example.com")
    order = create_order.execute(user.id, "tea", 1)
    DeleteUserUseCase(users).execute(user.id)
    assert orders.get(order.id) == order


def test_in_memory_repositories_can_start_with_data() -> None:
    user = User.register("Ada", "ada@example.com", id="u", created_at=datetime.fromisoformat("2026-01-01T00:00+00:00"))
    assert GetUserUseCase(InMemoryUserRepository([user])).execute("u") == user
