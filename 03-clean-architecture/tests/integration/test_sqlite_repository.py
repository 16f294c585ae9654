"""What only the SQLite adapter has to get right (the port's promises are checked for every adapter
in test_repository_contract.py): table names spliced into SQL, the schema it creates, threads, and
data that outlives the connection.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clean_shop.adapters.sqlite_repository import (
    Database,
    SQLiteOrderRepository,
    SQLiteUserRepository,
    sqlite_repositories,
)
from clean_shop.application.errors import ConfigurationError
from clean_shop.domain.model import Order, OrderStatus, User

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def a_user(n: int, name: str = "Ada") -> User:
    return User(id=f"00000000-0000-4000-8000-{n:012d}", name=name, email="a@example.com", created_at=T0)


def an_order(n: int, user_id: str) -> Order:
    return Order(
        id=f"10000000-0000-4000-8000-{n:012d}",
        user_id=user_id,
        product="tea",
        quantity=1,
        status=OrderStatus.PENDING,
        created_at=T0 + timedelta(seconds=n),
    )


@pytest.mark.parametrize(
    "table",
    [
        'users"; DROP TABLE x; --',
        "users table",
        "users;",
        "ab",
        "x" * 256,
        "sqlite_master",
        "SQLITE_users",
        "",
    ],
)
def test_a_table_name_that_is_not_a_safe_identifier_is_a_configuration_error(tmp_path: Path, table: str) -> None:
    with pytest.raises(ConfigurationError, match="table name"):
        SQLiteUserRepository(tmp_path / "shop.sqlite3", table)
    with pytest.raises(ConfigurationError, match="table name"):
        SQLiteOrderRepository(tmp_path / "shop.sqlite3", table)


def test_the_table_names_a_deployment_gives_dynamodb_work_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    users, orders, _ = sqlite_repositories(path, "shop-clean-users", "shop.clean_orders")
    users.add(a_user(1))
    orders.add(an_order(1, a_user(1).id))
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"shop-clean-users", "shop.clean_orders"}


def test_orders_are_indexed_by_user_and_creation_time(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    SQLiteOrderRepository(path, "orders")
    with sqlite3.connect(path) as db:
        indexes = [row[1] for row in db.execute("PRAGMA index_list('orders')") if row[3] == "c"]
        assert len(indexes) == 1  # created by the adapter ("c"), not the primary key's
        columns = [row[2] for row in db.execute(f"PRAGMA index_info('{indexes[0]}')")]
    assert columns[:2] == ["user_id", "created_at"]


def test_data_outlives_the_repository_and_the_tables_are_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "shop.sqlite3"
    users, orders, _ = sqlite_repositories(path, "users", "orders")
    users.add(a_user(1))
    orders.add(an_order(1, a_user(1).id))
    users.close()
    orders.close()

    users, orders, _ = sqlite_repositories(path, "users", "orders")  # CREATE … IF NOT EXISTS: no-op

    assert users.get(a_user(1).id) == a_user(1)
    assert orders.get(an_order(1, a_user(1).id).id) == an_order(1, a_user(1).id)


def test_values_are_bound_as_data_never_as_sql(tmp_path: Path) -> None:
    users = SQLiteUserRepository(tmp_path / "shop.sqlite3", "users")
    sneaky = a_user(1, name="Robert'); DROP TABLE users; --")
    users.add(sneaky)
    assert users.get(sneaky.id) == sneaky
    assert users.get("' OR '1'='1") is None


def test_an_in_memory_database_works_too() -> None:
    users, orders, _ = sqlite_repositories(":memory:", "users", "orders")
    users.add(a_user(1))
    orders.add(an_order(1, a_user(1).id))
    assert [user.id for user in users.list(10).items] == [a_user(1).id]
    assert [order.id for order in orders.list_by_user(a_user(1).id, 10).items] == [an_order(1, "x").id]


@pytest.mark.parametrize("path", ["file", ":memory:"])
def test_the_repositories_can_be_shared_by_fastapis_worker_threads(tmp_path: Path, path: str) -> None:
    users, orders, _ = sqlite_repositories(tmp_path / "shop.sqlite3" if path == "file" else path, "users", "orders")
    owner = a_user(0).id

    def work(n: int) -> None:
        users.add(a_user(n + 1))
        orders.add(an_order(n, owner))
        users.list(5)
        orders.list_by_user(owner, 5)
        if n % 2:
            assert users.delete(a_user(n + 1).id) is True

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(work, range(200)))  # re-raises the first failure

    everyone = [u for page in _pages(users.list) for u in page]
    assert len(everyone) == 100
    assert (
        len([o for page in _pages(lambda limit, token: orders.list_by_user(owner, limit, token)) for o in page])
        == 200
    )


def test_a_transaction_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """The unit of work reads the user, then inserts the order: another connection (another process
    serving DELETE /users/{id}) must not delete the user in between — it waits. BEGIN IMMEDIATE takes
    the write lock at once, so no other writer even starts: with a deferred BEGIN, two units could both
    read, then fail on each other's lock (SQLITE_BUSY) when they write."""
    path = tmp_path / "shop.sqlite3"
    users, _, _ = sqlite_repositories(path, "users", "orders")
    users.add(a_user(1))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)  # fails at once instead of waiting
    database = Database(path)

    with database.transaction() as connection:
        assert connection.execute('SELECT 1 FROM "users" WHERE id = ?', (a_user(1).id,)).fetchone()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute('DELETE FROM "users" WHERE id = ?', (a_user(1).id,))
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")

    assert other.execute('DELETE FROM "users" WHERE id = ?', (a_user(1).id,)).rowcount == 1  # now it may
    other.close()


def test_a_failed_unit_rolls_back_what_it_had_written(tmp_path: Path) -> None:
    users, orders, unit_of_work = sqlite_repositories(tmp_path / "shop.sqlite3", "users", "orders")
    users.add(a_user(1))
    first, second = an_order(1, a_user(1).id), an_order(2, a_user(1).id)
    orders.add(second)  # the unit's second insert will hit a row that exists: make it fail mid-way
    unit = unit_of_work()
    unit.require_user(a_user(1).id)
    unit.add_order(first)
    unit.add_order(second)
    orders.insert_sql = orders.insert_sql.replace("INSERT OR REPLACE", "INSERT")
    with pytest.raises(sqlite3.IntegrityError):
        unit.commit()
    assert orders.get(first.id) is None


def _pages(list_page, limit: int = 30) -> list[list]:
    pages, next_token = [], None
    while True:
        page = list_page(limit, next_token)
        pages.append(list(page.items))
        if page.next is None:
            return pages
        next_token = page.next
