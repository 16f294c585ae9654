"""The repository and unit-of-work ports on DynamoDB — the only module that knows the table layout
(docs/contract.md).

Each repository is handed a DynamoDB client and its table's name by the composition root (bootstrap.py)
instead of creating them: it does not know or care which region, endpoint or account that is. The
integration tests hand it a client of the local AWS (moto); production hands it the real one.

Ports speak in domain objects (User, Order); DynamoDB speaks in typed attributes (`{"S": "Ada"}`,
`{"N": "2"}`). The small `_item`/`_from_item` functions below translate, so no other layer ever sees an
attribute map. Why the client and not boto3's `Table` resource, which would translate for us: a resource
must not be shared between threads (FastAPI runs these calls in its thread pool), the resource interface
gets no new features (boto3's own guidance), and it costs a Lambda cold start about 40 ms more to build.
Only this file and bootstrap.py changed when the adapter moved from one to the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import ConnectionError as AwsConnectionError
from botocore.exceptions import HTTPClientError

from clean_shop.adapters import page_token
from clean_shop.application.errors import InvalidPageToken, StorageUnavailable, UserNotFound
from clean_shop.application.ports import OrderRepository, Page, UnitOfWork, UserRepository
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
def _unavailable_as_storage_error(client: Any) -> Iterator[None]:
    """Around every DynamoDB call: "cannot answer now" becomes the application's StorageUnavailable.

    The use cases and the HTTP layer never see a botocore exception. This adapter *is* the AWS SDK's
    side of the port, so it imports botocore's exceptions itself: built by anyone, it maps an unreachable
    DynamoDB to StorageUnavailable. (A process on memory or SQLite storage never imports this module:
    bootstrap.py imports adapters only for the storage it chose.)
    """
    try:
        yield
    except client.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in TRY_AGAIN_CODES or status >= 500:
            raise StorageUnavailable(code or f"HTTP {status}") from error
        raise
    except (AwsConnectionError, HTTPClientError) as error:  # refused, dropped, timed out
        raise StorageUnavailable(type(error).__name__) from error


def _attributes(values: dict[str, str | int]) -> dict[str, dict[str, str]]:
    """Plain values to DynamoDB's typed attributes: our items hold only strings and whole numbers."""
    return {name: {"N": str(value)} if isinstance(value, int) else {"S": value} for name, value in values.items()}


def _values(attributes: dict[str, dict[str, str]]) -> dict[str, str]:
    """Typed attributes back to plain values (numbers stay text here; _order_from_item makes them ints)."""
    return {name: typed.get("S", typed.get("N", "")) for name, typed in attributes.items()}


def _timestamp(moment: datetime) -> str:
    # Always with microseconds, so the strings sort in time order: the GSI's range key relies on it.
    return moment.isoformat(timespec="microseconds")


def _user_item(user: User) -> dict[str, dict[str, str]]:
    return _attributes(
        {"id": user.id, "name": user.name, "email": user.email, "created_at": _timestamp(user.created_at)}
    )


def _user_from_item(attributes: dict[str, dict[str, str]]) -> User:
    # Rebuilding a stored user is not registering a new one: no rules to re-check, just data.
    item = _values(attributes)
    return User(
        id=item["id"],
        name=item["name"],
        email=item["email"],
        created_at=datetime.fromisoformat(item["created_at"]),
    )


def _order_item(order: Order) -> dict[str, dict[str, str]]:
    return _attributes(
        {
            "id": order.id,
            "user_id": order.user_id,
            "product": order.product,
            "quantity": order.quantity,
            "status": order.status.value,
            "created_at": _timestamp(order.created_at),
        }
    )


def _order_from_item(attributes: dict[str, dict[str, str]]) -> Order:
    item = _values(attributes)
    return Order(
        id=item["id"],
        user_id=item["user_id"],
        product=item["product"],
        quantity=int(item["quantity"]),  # DynamoDB sends every number as text
        status=OrderStatus(item["status"]),
        created_at=datetime.fromisoformat(item["created_at"]),
    )


def _read_page(
    client: Any,
    operation: str,
    limit: int,
    next_token: str | None,
    key_fields: tuple[str, ...],
    from_item: Callable[[dict[str, Any]], T],
    **request: Any,
) -> Page[T]:
    """One page of a Scan or Query, with our own opaque token instead of LastEvaluatedKey.

    We ask for limit + 1 items: if the extra one exists there is a next page, and the token is the key
    of the last item we return. (Asking for exactly `limit` would make DynamoDB return a
    LastEvaluatedKey whenever the page is full, even when nothing follows — an empty last page.)
    """
    if next_token is not None:
        request["ExclusiveStartKey"] = _attributes(page_token.decode(next_token, key_fields))
    try:
        with _unavailable_as_storage_error(client):
            response = getattr(client, operation)(Limit=limit + 1, **request)
    except client.exceptions.ClientError as error:
        # A well-formed token can still name a key DynamoDB rejects (e.g. too long): that is the
        # client's bad token, not our failure.
        if next_token is not None and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidPageToken() from error
        raise
    items = response.get("Items", [])
    if len(items) > limit:
        items = items[:limit]
        last = _values(items[-1])
        next_token = page_token.encode({field: last[field] for field in key_fields})
    elif "LastEvaluatedKey" in response:  # DynamoDB stopped early (1 MB per call): carry on from there
        next_token = page_token.encode(_values(response["LastEvaluatedKey"]))
    else:
        next_token = None
    return Page(items=[from_item(item) for item in items], next=next_token)


def _get(client: Any, table: str, id: str) -> dict[str, Any] | None:
    # ConsistentRead: "does this user exist?" is asked right after a client created it (POST /orders),
    # and an eventually consistent read may not see a write made a moment ago.
    with _unavailable_as_storage_error(client):
        return client.get_item(TableName=table, Key=_attributes({"id": id}), ConsistentRead=True).get("Item")


def _delete(client: Any, table: str, id: str) -> bool:
    try:
        # The condition makes "delete" and "was it there?" one atomic call.
        with _unavailable_as_storage_error(client):
            client.delete_item(TableName=table, Key=_attributes({"id": id}), ConditionExpression="attribute_exists(id)")
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


class DynamoDBUserRepository(UserRepository):
    def __init__(self, client: Any, table: str) -> None:
        self._client = client  # a boto3 DynamoDB client: safe to share between threads
        self._table = table

    def add(self, user: User) -> None:
        with _unavailable_as_storage_error(self._client):
            self._client.put_item(TableName=self._table, Item=_user_item(user))

    def get(self, user_id: str) -> User | None:
        item = _get(self._client, self._table, user_id)
        return None if item is None else _user_from_item(item)

    def list(self, limit: int, next_token: str | None = None) -> Page[User]:
        return _read_page(
            self._client, "scan", limit, next_token, USER_KEY, _user_from_item, TableName=self._table
        )

    def delete(self, user_id: str) -> bool:
        return _delete(self._client, self._table, user_id)


class DynamoDBOrderRepository(OrderRepository):
    def __init__(self, client: Any, table: str) -> None:
        self._client = client  # a boto3 DynamoDB client: safe to share between threads
        self._table = table

    def add(self, order: Order) -> None:
        with _unavailable_as_storage_error(self._client):
            self._client.put_item(TableName=self._table, Item=_order_item(order))

    def get(self, order_id: str) -> Order | None:
        item = _get(self._client, self._table, order_id)
        return None if item is None else _order_from_item(item)

    def list(self, limit: int, next_token: str | None = None) -> Page[Order]:
        return _read_page(
            self._client, "scan", limit, next_token, ORDER_KEY, _order_from_item, TableName=self._table
        )

    def list_by_user(self, user_id: str, limit: int, next_token: str | None = None) -> Page[Order]:
        if next_token is not None and page_token.decode(next_token, ORDER_BY_USER_KEY)["user_id"] != user_id:
            raise InvalidPageToken("belongs to another user's listing")
        return _read_page(
            self._client,
            "query",
            limit,
            next_token,
            ORDER_BY_USER_KEY,
            _order_from_item,
            TableName=self._table,
            IndexName=ORDERS_BY_USER_INDEX,
            KeyConditionExpression="user_id = :user_id",
            ExpressionAttributeValues=_attributes({":user_id": user_id}),
        )

    def delete(self, order_id: str) -> bool:
        return _delete(self._client, self._table, order_id)


class DynamoDBUnitOfWork(UnitOfWork):
    """A unit as one DynamoDB transaction: a ConditionCheck per required user, a Put per new order.

    TransactWriteItems applies all of it or nothing, and serialises it with other writes to the same
    items: a DeleteItem of the user lands either before it (the check fails, no order) or after it (the
    order was stored while its user still existed) — never between the check and the write, which is
    what a GetItem followed by a PutItem allowed. The monolith writes its orders the same way.
    """

    def __init__(self, client: Any, users_table: str, orders_table: str) -> None:
        super().__init__()
        self._client = client
        self._users_table = users_table
        self._orders_table = orders_table

    def commit(self) -> None:
        checks = [
            {
                "ConditionCheck": {
                    "TableName": self._users_table,
                    "Key": _attributes({"id": user_id}),
                    "ConditionExpression": "attribute_exists(id)",
                }
            }
            for user_id in self.required_users
        ]
        puts = [{"Put": {"TableName": self._orders_table, "Item": _order_item(order)}} for order in self.new_orders]
        if not checks and not puts:
            return  # an empty unit: DynamoDB refuses an empty transaction
        try:
            with _unavailable_as_storage_error(self._client):
                self._client.transact_write_items(TransactItems=checks + puts)
        except self._client.exceptions.TransactionCanceledException as error:
            # One reason per item, in the order sent: the failed check names the missing user.
            reasons = error.response.get("CancellationReasons", [])
            for user_id, reason in zip(self.required_users, reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    raise UserNotFound(user_id) from error
            # Cancelled for another reason (a conflicting transaction on the same item, throttling):
            # nothing was stored, and the same request can succeed a moment later.
            codes = sorted({reason.get("Code", "") for reason in reasons} - {"None", ""})
            raise StorageUnavailable(f"transaction cancelled ({', '.join(codes) or 'no reason given'})") from error
