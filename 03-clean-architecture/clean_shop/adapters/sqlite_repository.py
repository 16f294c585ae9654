"""The repository and unit-of-work ports on SQLite (Python's standard library `sqlite3`): the database
swap, done.

This module is the whole answer to "swap DynamoDB for another database". It implements the same
ports as dynamodb_repository.py and passes the same contract suite
(tests/integration/test_repository_contract.py): same paging, same opaque tokens, same InvalidPageToken
for a tampered one, `delete` saying whether there was something to delete. bootstrap.py picks it with
`STORAGE=sqlite`; the domain, the use cases and the HTTP layer do not know it exists.

    users table:   id TEXT PRIMARY KEY, name, email, created_at
    orders table:  id TEXT PRIMARY KEY, user_id, product, quantity INTEGER, status, created_at
                   + an index on (user_id, created_at, id) — the DynamoDB GSI `user_id-index`'s job

Table names still come from ConfigPort.get_table_name(), exactly as for DynamoDB, so the same
deployment settings (`shop-clean-users`, …) name SQLite tables. A name is spliced into SQL, so it
is checked against DynamoDB's own table-name alphabet and always double-quoted.

Threads: FastAPI runs the `def` routes in a thread pool. sqlite_repositories() opens one connection
(check_same_thread=False, a lock around every use of it) for both repositories and the unit of work, so
one statement or transaction runs at a time, and a transaction sees both tables — even in a
":memory:" database, which is private to its connection. SQLite's file locking (with a busy timeout)
orders other processes using the same file.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from clean_shop.adapters import page_token
from clean_shop.application.errors import ConfigurationError, InvalidPageToken, UserNotFound
from clean_shop.application.ports import OrderRepository, Page, UnitOfWork, UserRepository
from clean_shop.domain.model import Order, OrderStatus, User

T = TypeVar("T")

# A file, not ":memory:": data survives a restart (":memory:" would just be STORAGE=memory again).
# The temp directory is writable everywhere, Lambda's /tmp included — but there each execution
# environment has its own /tmp, so this is a single-host database, not shared storage.
DEFAULT_SQLITE_PATH = str(Path(tempfile.gettempdir()) / "clean-shop.sqlite3")

# DynamoDB's table-name rules (3-255 of letters, digits, "_", "-", "."): every name a deployment can
# give a DynamoDB table is also accepted here; anything else (a quote, a space, ";") is refused.
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
BUSY_TIMEOUT_SECONDS = 5.0  # how long a write waits for another connection's lock before failing


def _identifier(table: str) -> str:
    """`table` as a quoted SQL identifier, or ConfigurationError if it is not a safe table name."""
    if not isinstance(table, str) or not TABLE_NAME.fullmatch(table) or table.lower().startswith("sqlite_"):
        raise ConfigurationError(
            f"table name {table!r} is not usable: use 3-255 letters, digits, '_', '-' or '.' "
            "(and not the reserved prefix 'sqlite_')"
        )
    return f'"{table}"'


def _timestamp(moment: datetime) -> str:
    # Always with microseconds, so the strings sort in time order (as in dynamodb_repository.py).
    return moment.isoformat(timespec="microseconds")


class Database:
    """One connection, used by one thread at a time."""

    def __init__(self, path: str | Path) -> None:
        # isolation_level=None: autocommit. execute() and fetch() run one statement, so each is atomic;
        # transaction() groups several.
        self._connection = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run a write; the number of rows it changed."""
        with self._lock:
            return self._connection.execute(sql, parameters).rowcount

    def fetch(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._connection.execute(sql, parameters).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN IMMEDIATE … COMMIT; ROLLBACK if the block raises.

        IMMEDIATE takes the database's write lock at BEGIN, not at the first write: what the block reads
        cannot change (another connection's DELETE waits) until it commits, and two blocks never both
        read, then trip over each other's lock when they write.
        """
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _page(
    rows: list[sqlite3.Row],
    limit: int,
    from_row: Callable[[sqlite3.Row], T],
    key_of: Callable[[sqlite3.Row], dict[str, str]],
) -> Page[T]:
    """`rows` was read with LIMIT limit + 1: the extra row, if any, only says that a next page exists."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[from_row(row) for row in rows], next=page_token.encode(key_of(rows[-1])) if more else None)


def _user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _order_from_row(row: sqlite3.Row) -> Order:
    return Order(
        id=row["id"],
        user_id=row["user_id"],
        product=row["product"],
        quantity=row["quantity"],
        status=OrderStatus(row["status"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _order_values(order: Order) -> tuple[str | int, ...]:
    return (
        order.id,
        order.user_id,
        order.product,
        order.quantity,
        order.status.value,
        _timestamp(order.created_at),
    )


class SQLiteUserRepository(UserRepository):
    def __init__(self, database: str | Path | Database, table: str) -> None:
        self._table = _identifier(table)
        self._db = database if isinstance(database, Database) else Database(database)
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} "
            "(id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, created_at TEXT NOT NULL)"
        )

    def add(self, user: User) -> None:
        self._db.execute(
            f"INSERT OR REPLACE INTO {self._table} (id, name, email, created_at) VALUES (?, ?, ?, ?)",
            (user.id, user.name, user.email, _timestamp(user.created_at)),
        )

    def get(self, user_id: str) -> User | None:
        rows = self._db.fetch(f"SELECT * FROM {self._table} WHERE id = ?", (user_id,))
        return _user_from_row(rows[0]) if rows else None

    def list(self, limit: int, next_token: str | None = None) -> Page[User]:
        after = "" if next_token is None else page_token.decode(next_token, ("id",))["id"]
        rows = self._db.fetch(f"SELECT * FROM {self._table} WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1))
        return _page(rows, limit, _user_from_row, lambda row: {"id": row["id"]})

    def delete(self, user_id: str) -> bool:
        return self._db.execute(f"DELETE FROM {self._table} WHERE id = ?", (user_id,)) > 0

    def close(self) -> None:
        self._db.close()


class SQLiteOrderRepository(OrderRepository):
    def __init__(self, database: str | Path | Database, table: str) -> None:
        self._table = _identifier(table)
        self._db = database if isinstance(database, Database) else Database(database)
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {self._table} (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, product "
            "TEXT NOT NULL, quantity INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
        by_user = f'"{table}-by-user"'  # `table` passed _identifier(): no quote in it
        self._db.execute(f"CREATE INDEX IF NOT EXISTS {by_user} ON {self._table} (user_id, created_at, id)")
        self.insert_sql = (
            f"INSERT OR REPLACE INTO {self._table} (id, user_id, product, quantity, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )

    def add(self, order: Order) -> None:
        self._db.execute(self.insert_sql, _order_values(order))

    def get(self, order_id: str) -> Order | None:
        rows = self._db.fetch(f"SELECT * FROM {self._table} WHERE id = ?", (order_id,))
        return _order_from_row(rows[0]) if rows else None

    def list(self, limit: int, next_token: str | None = None) -> Page[Order]:
        after = "" if next_token is None else page_token.decode(next_token, ("id",))["id"]
        rows = self._db.fetch(f"SELECT * FROM {self._table} WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1))
        return _page(rows, limit, _order_from_row, lambda row: {"id": row["id"]})

    def list_by_user(self, user_id: str, limit: int, next_token: str | None = None) -> Page[Order]:
        after = ("", "")
        if next_token is not None:
            key = page_token.decode(next_token, ("id", "user_id", "created_at"))
            if key["user_id"] != user_id:
                raise InvalidPageToken("belongs to another user's listing")
            after = (key["created_at"], key["id"])
        rows = self._db.fetch(
            f"SELECT * FROM {self._table} WHERE user_id = ? AND (created_at, id) > (?, ?) "
            "ORDER BY created_at, id LIMIT ?",
            (user_id, *after, limit + 1),
        )
        return _page(
            rows,
            limit,
            _order_from_row,
            lambda row: {"id": row["id"], "user_id": row["user_id"], "created_at": row["created_at"]},
        )

    def delete(self, order_id: str) -> bool:
        return self._db.execute(f"DELETE FROM {self._table} WHERE id = ?", (order_id,)) > 0

    def close(self) -> None:
        self._db.close()


class SQLiteUnitOfWork(UnitOfWork):
    """A unit in one SQLite transaction: the user checks and the inserts commit together, or not at all."""

    def __init__(self, database: Database, users_table: str, orders: SQLiteOrderRepository) -> None:
        super().__init__()
        self._db = database
        self._users_table = _identifier(users_table)
        self._orders = orders

    def commit(self) -> None:
        with self._db.transaction() as connection:
            for user_id in self.required_users:
                found = connection.execute(f"SELECT 1 FROM {self._users_table} WHERE id = ?", (user_id,))
                if found.fetchone() is None:
                    raise UserNotFound(user_id)  # rolls the transaction back: nothing stored
            for order in self.new_orders:
                connection.execute(self._orders.insert_sql, _order_values(order))


def sqlite_repositories(
    path: str | Path, users_table: str, orders_table: str
) -> tuple[SQLiteUserRepository, SQLiteOrderRepository, Callable[[], SQLiteUnitOfWork]]:
    """Both repositories and the unit-of-work factory on the database `path` (tables created if missing),
    sharing one connection."""
    database = Database(path)
    users, orders = SQLiteUserRepository(database, users_table), SQLiteOrderRepository(database, orders_table)
    return users, orders, lambda: SQLiteUnitOfWork(database, users_table, orders)
