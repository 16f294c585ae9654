"""One suite, every storage implementation: the promises the UserRepository / OrderRepository /
UnitOfWork ports make, checked against the in-memory adapter, the DynamoDB adapter (on the local AWS)
and the SQLite adapter (a fresh database file per test).

This is what makes the fast unit tests trustworthy: the fake they use passes the same suite as
production. Adding an adapter means adding one entry to IMPLEMENTATIONS below — SQLite was added
exactly that way.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from clean_shop.adapters import dynamodb_repository
from clean_shop.adapters.dynamodb_repository import (
    DynamoDBOrderRepository,
    DynamoDBUnitOfWork,
    DynamoDBUserRepository,
)
from clean_shop.adapters.memory_repository import InMemoryOrderRepository, InMemoryUnitOfWork, InMemoryUserRepository
from clean_shop.adapters.sqlite_repository import sqlite_repositories
from clean_shop.application.errors import InvalidPageToken, UserNotFound
from clean_shop.application.ports import OrderRepository, UnitOfWorkFactory, UserRepository
from clean_shop.domain.model import Order, OrderStatus, User
from shopctl.aws.resources import ORDERS_BY_USER_INDEX

Repositories = tuple[UserRepository, OrderRepository, UnitOfWorkFactory]


def in_memory(request: pytest.FixtureRequest) -> Repositories:
    users, orders = InMemoryUserRepository(), InMemoryOrderRepository()
    return users, orders, lambda: InMemoryUnitOfWork(users, orders)


def on_dynamodb(request: pytest.FixtureRequest) -> Repositories:
    tables = request.getfixturevalue("tables")  # fresh tables on the local AWS (root conftest.py)
    dynamodb = boto3.client("dynamodb")
    return (
        DynamoDBUserRepository(dynamodb, tables.users),
        DynamoDBOrderRepository(dynamodb, tables.orders),
        lambda: DynamoDBUnitOfWork(dynamodb, tables.users, tables.orders),
    )


def on_sqlite(request: pytest.FixtureRequest) -> Repositories:
    path = request.getfixturevalue("tmp_path") / "shop.sqlite3"  # a fresh database per test
    return sqlite_repositories(path, "shop-test-users", "shop-test-orders")


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest], Repositories]] = {
    "memory": in_memory,
    "dynamodb": on_dynamodb,
    "sqlite": on_sqlite,
}


@pytest.fixture(params=list(IMPLEMENTATIONS))
def repositories(request: pytest.FixtureRequest) -> Repositories:
    return IMPLEMENTATIONS[request.param](request)


@pytest.fixture
def users(repositories: Repositories) -> UserRepository:
    return repositories[0]


@pytest.fixture
def orders(repositories: Repositories) -> OrderRepository:
    return repositories[1]


@pytest.fixture
def unit_of_work(repositories: Repositories) -> UnitOfWorkFactory:
    return repositories[2]


_counter = itertools.count()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_user(n: int | None = None) -> User:
    n = next(_counter) if n is None else n
    return User(
        id=f"00000000-0000-4000-8000-{n:012d}",
        name=f"User {n}",
        email=f"u{n}@example.com",
        created_at=T0 + timedelta(seconds=n, microseconds=123),
    )


def an_order(user_id: str, seconds: int, n: int | None = None) -> Order:
    n = next(_counter) if n is None else n
    return Order(
        id=f"10000000-0000-4000-8000-{n:012d}",
        user_id=user_id,
        product=f"product {n} ✓",
        quantity=n % 1000 + 1,
        status=OrderStatus.PENDING,
        created_at=T0 + timedelta(seconds=seconds),
    )


def every_page(list_page: Callable, limit: int) -> list[list]:
    pages, next_token = [], None
    while True:
        page = list_page(limit, next_token)
        assert len(page.items) <= limit
        pages.append(list(page.items))
        if page.next is None:
            return pages
        assert len(pages) < 50, "paging does not end"
        next_token = page.next


def assert_refused(list_page: Callable, token: str) -> None:
    try:
        list_page(token)
    except InvalidPageToken:
        return
    pytest.fail(f"page token {token[:40]!r} was accepted")


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


TAMPERED = [
    "",
    "not base64!",
    "e30",  # {}
    _token(["id"]),
    _token({"id": None}),
    _token({"id": ""}),
    _token({"id": "x" * 3000}),
    _token({"id": "x", "more": "y"}),
    "eyJpZCI6Ilx1ZDgwMCJ9",  # {"id": "\ud800"}
]


# --- users -------------------------------------------------------------------------------------------


def test_a_user_added_can_be_read_back_unchanged(users: UserRepository) -> None:
    user = a_user()
    users.add(user)
    assert users.get(user.id) == user


def test_an_unknown_user_is_none(users: UserRepository) -> None:
    assert users.get(a_user().id) is None


def test_delete_reports_whether_there_was_a_user(users: UserRepository) -> None:
    user = a_user()
    users.add(user)
    assert users.delete(user.id) is True
    assert users.get(user.id) is None
    assert users.delete(user.id) is False


def test_an_empty_list_is_one_empty_page(users: UserRepository) -> None:
    page = users.list(10)
    assert (list(page.items), page.next) == ([], None)


def test_paging_returns_every_user_exactly_once(users: UserRepository) -> None:
    everyone = sorted((a_user() for _ in range(5)), key=lambda u: u.id)
    for user in everyone:
        users.add(user)
    for limit, expected_pages in [(1, 5), (2, 3), (5, 1), (6, 1)]:
        pages = every_page(users.list, limit)
        assert sorted((user for page in pages for user in page), key=lambda u: u.id) == everyone
        # No empty trailing page: `next` is None as soon as nothing follows.
        assert len(pages) == expected_pages, f"limit={limit}"


def test_a_tampered_user_page_token_is_invalid(users: UserRepository) -> None:
    users.add(a_user())
    for token in TAMPERED:
        assert_refused(lambda token: users.list(10, token), token)


# --- orders ------------------------------------------------------------------------------------------


def test_an_order_added_can_be_read_back_unchanged(orders: OrderRepository) -> None:
    order = an_order(a_user().id, seconds=1)
    orders.add(order)
    stored = orders.get(order.id)
    assert stored == order
    assert type(stored.quantity) is int  # not DynamoDB's Decimal
    assert stored.status is OrderStatus.PENDING


def test_delete_reports_whether_there_was_an_order(orders: OrderRepository) -> None:
    order = an_order(a_user().id, seconds=1)
    orders.add(order)
    assert orders.delete(order.id) is True
    assert orders.get(order.id) is None
    assert orders.delete(order.id) is False


def test_one_users_orders_come_oldest_first_a_page_at_a_time(orders: OrderRepository) -> None:
    ada, bob = a_user().id, a_user().id
    adas = [an_order(ada, seconds=s) for s in (30, 10, 20, 40, 50)]
    for order in [*adas, an_order(bob, seconds=15), an_order(bob, seconds=25)]:
        orders.add(order)
    pages = every_page(lambda limit, next_token: orders.list_by_user(ada, limit, next_token), limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [o for page in pages for o in page] == sorted(adas, key=lambda o: o.created_at)


def test_a_user_without_orders_has_an_empty_page(orders: OrderRepository) -> None:
    orders.add(an_order(a_user().id, seconds=1))
    page = orders.list_by_user(a_user().id, 10)
    assert (list(page.items), page.next) == ([], None)


def test_all_orders_are_listed_a_page_at_a_time(orders: OrderRepository) -> None:
    every = [an_order(a_user().id, seconds=n) for n in range(5)]
    for order in every:
        orders.add(order)
    seen = [order for page in every_page(orders.list, 3) for order in page]
    assert sorted(seen, key=lambda o: o.id) == sorted(every, key=lambda o: o.id)


def test_a_tampered_order_page_token_is_invalid(orders: OrderRepository) -> None:
    user_id = a_user().id
    orders.add(an_order(user_id, seconds=1))
    for token in TAMPERED:
        assert_refused(lambda token: orders.list(10, token), token)
        assert_refused(lambda token: orders.list_by_user(user_id, 10, token), token)


def test_a_page_token_only_works_for_the_list_it_came_from(orders: OrderRepository) -> None:
    ada, bob = a_user().id, a_user().id
    for seconds in (1, 2, 3):
        orders.add(an_order(ada, seconds=seconds))
    by_user = orders.list_by_user(ada, 1).next
    with pytest.raises(InvalidPageToken):
        orders.list_by_user(bob, 1, by_user)  # another user's list
    with pytest.raises(InvalidPageToken):
        orders.list(1, by_user)  # the list of all orders has a different key


# --- unit of work: "store the order only if its user exists", as one unit -----------------------------


def test_a_committed_unit_stores_its_orders(users: UserRepository, orders: OrderRepository, unit_of_work) -> None:
    user = a_user()
    users.add(user)
    order = an_order(user.id, seconds=1)
    with unit_of_work() as unit:
        unit.require_user(user.id)
        unit.add_order(order)
        unit.commit()
    assert orders.get(order.id) == order


def test_a_unit_for_an_unknown_user_stores_nothing(orders: OrderRepository, unit_of_work) -> None:
    order = an_order(a_user().id, seconds=1)
    with pytest.raises(UserNotFound) as raised, unit_of_work() as unit:
        unit.require_user(order.user_id)
        unit.add_order(order)
        unit.commit()
    assert raised.value.user_id == order.user_id
    assert orders.get(order.id) is None


def test_the_user_is_checked_when_the_unit_commits_not_before(
    users: UserRepository, orders: OrderRepository, unit_of_work
) -> None:
    """The race a check-then-write loses: the user is deleted after the check was asked for."""
    user = a_user()
    users.add(user)
    order = an_order(user.id, seconds=1)
    with pytest.raises(UserNotFound), unit_of_work() as unit:
        unit.require_user(user.id)
        unit.add_order(order)
        assert users.delete(user.id)  # DELETE /users/{id}, landing between the check and the write
        unit.commit()
    assert orders.get(order.id) is None
    assert orders.list_by_user(user.id, 10).items == []


def test_one_missing_user_stores_none_of_the_units_orders(
    users: UserRepository, orders: OrderRepository, unit_of_work
) -> None:
    present, missing = a_user(), a_user()
    users.add(present)
    first, second = an_order(present.id, seconds=1), an_order(missing.id, seconds=2)
    with pytest.raises(UserNotFound) as raised, unit_of_work() as unit:
        for order in (first, second):
            unit.require_user(order.user_id)
            unit.add_order(order)
        unit.commit()
    assert raised.value.user_id == missing.id
    assert (orders.get(first.id), orders.get(second.id)) == (None, None)


def test_a_unit_left_without_commit_stores_nothing(
    users: UserRepository, orders: OrderRepository, unit_of_work
) -> None:
    user = a_user()
    users.add(user)
    order = an_order(user.id, seconds=1)
    with unit_of_work() as unit:
        unit.require_user(user.id)
        unit.add_order(order)
    unit.commit()  # too late: the unit ended with the block and forgot its changes
    assert orders.get(order.id) is None


def test_the_adapter_queries_the_index_the_deploy_code_creates() -> None:
    assert dynamodb_repository.ORDERS_BY_USER_INDEX == ORDERS_BY_USER_INDEX
