"""The repository ports on DynamoDB — the only module that knows the table layout (docs/contract.md).

Each repository is handed a boto3 `Table` by the composition root (bootstrap.py) instead of creating
one: it does not know or care which table name, region or endpoint that is. The integration tests
hand it a Table on the local AWS (moto); production hands it the real one.

Ports speak in domain objects (User, Order); DynamoDB speaks in items. The small `_item`/`_from_item`
functions below translate, so no other layer ever sees a Decimal or an attribute map.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from clean_shop.adapters import page_token
from clean_shop.application.errors import InvalidPageToken, StorageUnavailable
from clean_shop.application.ports import OrderRepository, Page, UserRepository
from clean_shop.domain.model import Order, OrderStatus, User

T = TypeVar("T")

ORDERS_BY_USER_INDEX = "user_id-index"  # GSI: user_id (hash), created_at (range)
USER_KEY = ("id",)
ORDER_KEY = ("id",)
ORDER_BY_USER_KEY = ("id", "user_id", "created_at")  # a GSI page key holds the table's and the index's keys


# DynamoDB answers that mean "not now" rather than "never": throttled, or failing on its side.
TRY_AGAIN_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


@contextlib.contextmanager
def _unavailable_as_storage_error(table: Any, unreachable: tuple[type[Exception], ...]) -> Iterator[None]:
    """Around every DynamoDB call: "cannot answer now" becomes the application's StorageUnavailable.

    The use cases and the HTTP layer never see a botocore exception. Throttling and DynamoDB-side errors
    are ClientErrors (the client's own class, no SDK import needed); connection failures and timeouts
    are the `unreachable` exception types the composition root hands over — so this module, like every
    module but bootstrap.py, imports nothing from the AWS SDK.
    """
    try:
        yield
    except table.meta.client.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in TRY_AGAIN_CODES or status >= 500:
            raise StorageUnavailable(code or f"HTTP {status}") from error
        raise
    except unreachable as error:  # refused, dropped, timed out
        raise StorageUnavailable(type(error).__name__) from error


def _timestamp(moment: datetime) -> str:
    # Always with microseconds, so the strings sort in time order: the GSI's range key relies on it.
    return moment.isoformat(timespec="microseconds")


def _user_item(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "email": user.email, "created_at": _timestamp(user.created_at)}


def _user_from_item(item: dict[str, Any]) -> User:
    # Rebuilding a stored user is not registering a new one: no rules to re-check, just data.
    return User(
        id=item["id"],
        name=item["name"],
        email=item["email"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )


def _order_item(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "user_id": order.user_id,
        "product": order.product,
        "quantity": order.quantity,
        "status": order.status.value,
        "created_at": _timestamp(order.created_at),
    }


def _order_from_item(item: dict[str, Any]) -> Order:
    return Order(
        id=item["id"],
        user_id=item["user_id"],
        product=item["product"],
        quantity=int(item["quantity"]),  # boto3 returns every DynamoDB number as a Decimal
        status=OrderStatus(item["status"]),
        created_at=datetime.fromisoformat(item["created_at"]),
    )


def _read_page(
    table: Any,
    unreachable: tuple[type[Exception], ...],
    operation: str,
    limit: int,
    cursor: str | None,
    key_fields: tuple[str, ...],
    from_item: Callable[[dict[str, Any]], T],
    **request: Any,
) -> Page[T]:
    """One page of a Scan or Query, with our own opaque token instead of LastEvaluatedKey.

    We ask for limit + 1 items: if the extra one exists there is a next page, and the token is the key
    of the last item we return. (Asking for exactly `limit` would make DynamoDB return a
    LastEvaluatedKey whenever the page is full, even when nothing follows — an empty last page.)
    """
    if cursor is not None:
        request["ExclusiveStartKey"] = page_token.decode(cursor, key_fields)
    try:
        with _unavailable_as_storage_error(table, unreachable):
            response = getattr(table, operation)(Limit=limit + 1, **request)
    except table.meta.client.exceptions.ClientError as error:
        # A well-formed token can still name a key DynamoDB rejects (e.g. too long): that is the
        # client's bad token, not our failure.
        if cursor is not None and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidPageToken() from error
        raise
    items = response.get("Items", [])
    if len(items) > limit:
        items = items[:limit]
        next_token = page_token.encode({field: items[-1][field] for field in key_fields})
    elif "LastEvaluatedKey" in response:  # DynamoDB stopped early (1 MB per call): carry on from there
        next_token = page_token.encode(response["LastEvaluatedKey"])
    else:
        next_token = None
    return Page(items=[from_item(item) for item in items], next=next_token)


def _delete(table: Any, unreachable: tuple[type[Exception], ...], id: str) -> bool:
    try:
        # The condition makes "delete" and "was it there?" one atomic call.
        with _unavailable_as_storage_error(table, unreachable):
            table.delete_item(Key={"id": id}, ConditionExpression="attribute_exists(id)")
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        return False
    return True


class DynamoDBUserRepository(UserRepository):
    def __init__(self, table: Any, unreachable: tuple[type[Exception], ...] = ()) -> None:
        self._table = table
        self._unreachable = unreachable  # the SDK's "could not connect / timed out" errors (bootstrap.py)

    def add(self, user: User) -> None:
        with _unavailable_as_storage_error(self._table, self._unreachable):
            self._table.put_item(Item=_user_item(user))

    def get(self, user_id: str) -> User | None:
        with _unavailable_as_storage_error(self._table, self._unreachable):
            item = self._table.get_item(Key={"id": user_id}).get("Item")
        return None if item is None else _user_from_item(item)

    def list(self, limit: int, cursor: str | None = None) -> Page[User]:
        return _read_page(self._table, self._unreachable, "scan", limit, cursor, USER_KEY, _user_from_item)

    def delete(self, user_id: str) -> bool:
        return _delete(self._table, self._unreachable, user_id)


class DynamoDBOrderRepository(OrderRepository):
    def __init__(self, table: Any, unreachable: tuple[type[Exception], ...] = ()) -> None:
        self._table = table
        self._unreachable = unreachable  # the SDK's "could not connect / timed out" errors (bootstrap.py)

    def add(self, order: Order) -> None:
        with _unavailable_as_storage_error(self._table, self._unreachable):
            self._table.put_item(Item=_order_item(order))

    def get(self, order_id: str) -> Order | None:
        with _unavailable_as_storage_error(self._table, self._unreachable):
            item = self._table.get_item(Key={"id": order_id}).get("Item")
        return None if item is None else _order_from_item(item)

    def list(self, limit: int, cursor: str | None = None) -> Page[Order]:
        return _read_page(self._table, self._unreachable, "scan", limit, cursor, ORDER_KEY, _order_from_item)

    def list_by_user(self, user_id: str, limit: int, cursor: str | None = None) -> Page[Order]:
        if cursor is not None and page_token.decode(cursor, ORDER_BY_USER_KEY)["user_id"] != user_id:
            raise InvalidPageToken("belongs to another user's list")
        return _read_page(
            self._table,
            self._unreachable,
            "query",
            limit,
            cursor,
            ORDER_BY_USER_KEY,
            _order_from_item,
            IndexName=ORDERS_BY_USER_INDEX,
            KeyConditionExpression="user_id = :user_id",
            ExpressionAttributeValues={":user_id": user_id},
        )

    def delete(self, order_id: str) -> bool:
        return _delete(self._table, self._unreachable, order_id)
