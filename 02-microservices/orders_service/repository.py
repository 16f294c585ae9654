"""orders-service persistence: DynamoDB, spelled out in boto3.

The same weld as the users-service's repository: its own boto3 client, its table from config.py (and
so from the runtime), DynamoDB's attribute format, and a paging token that is DynamoDB's
LastEvaluatedKey. Listing one user's orders uses the table's GSI `user_id-index` — a DynamoDB design
decision that the service layer above now depends on without saying so.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError

from orders_service.config import AWS_CLIENT_CONFIG, orders_table
from orders_service.models import MAX_PAGE_TOKEN_LENGTH, Order

ORDERS_BY_USER_INDEX = "user_id-index"  # GSI: user_id (hash), created_at (range) — docs/contract.md

# What a LastEvaluatedKey looks like once decoded: the table key for a Scan; for a Query on the index,
# the table key plus the index key.
SCAN_KEY_FIELDS = frozenset({"id"})
INDEX_KEY_FIELDS = frozenset({"id", "user_id", "created_at"})
TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


class InvalidPageToken(ValueError):
    """The client's `next` token is not one we issued (for this listing)."""


# One low-level client per process: creating a client costs tens of milliseconds, and boto3 clients
# (unlike boto3 "resources") are safe to share between FastAPI's worker threads. The endpoint comes
# from boto3's standard environment (AWS_ENDPOINT_URL locally) — no "if local" here.
# Timeouts and retries: config.AWS_CLIENT_CONFIG, as for every AWS client of this service.


@functools.cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb", config=AWS_CLIENT_CONFIG)


class StorageUnavailable(RuntimeError):
    """DynamoDB cannot answer right now (unreachable, timed out, throttled): nothing was changed."""


# DynamoDB answers that mean "not now" rather than "never".
_TRY_AGAIN_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


@contextlib.contextmanager
def _unavailable_as_storage_error() -> Iterator[None]:
    """Around every DynamoDB call: botocore's "cannot answer now" errors become StorageUnavailable."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _TRY_AGAIN_CODES or status >= 500:
            raise StorageUnavailable(code or f"HTTP {status}") from error
        raise
    except (AwsConnectionError, HTTPClientError) as error:  # refused, dropped, timed out
        raise StorageUnavailable(type(error).__name__) from error


def _to_item(order: Order) -> dict[str, Any]:
    return {
        "id": {"S": order.id},
        "user_id": {"S": order.user_id},
        "product": {"S": order.product},
        "quantity": {"N": str(order.quantity)},  # a DynamoDB Number travels as a string
        "status": {"S": order.status},
        "created_at": {"S": order.created_at},
    }


def _from_item(item: dict[str, Any]) -> Order:
    return Order(
        id=item["id"]["S"],
        user_id=item["user_id"]["S"],
        product=item["product"]["S"],
        quantity=int(item["quantity"]["N"]),
        status=item["status"]["S"],
        created_at=item["created_at"]["S"],
    )


def add(order: Order) -> None:
    with _unavailable_as_storage_error():
        _dynamodb().put_item(TableName=orders_table(), Item=_to_item(order))


def get(order_id: str) -> Order | None:
    with _unavailable_as_storage_error():
        response = _dynamodb().get_item(TableName=orders_table(), Key={"id": {"S": order_id}}, ConsistentRead=True)
    item = response.get("Item")
    return _from_item(item) if item else None


def delete(order_id: str) -> bool:
    """Delete the order; False when there was none (one round trip, no read-then-delete race)."""
    try:
        with _unavailable_as_storage_error():
            _dynamodb().delete_item(
                TableName=orders_table(),
                Key={"id": {"S": order_id}},
                ConditionExpression="attribute_exists(id)",
            )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def list(limit: int, next_token: str | None = None) -> tuple[Sequence[Order], str | None]:
    """One page of all orders (a Scan) and the next page's token (None on the last page)."""
    return _read_page({"TableName": orders_table()}, limit, next_token, SCAN_KEY_FIELDS)


def list_by_user(user_id: str, limit: int, next_token: str | None = None) -> tuple[Sequence[Order], str | None]:
    """One page of one user's orders (a Query on the GSI), oldest first, and the next page's token."""
    request = {
        "TableName": orders_table(),
        "IndexName": ORDERS_BY_USER_INDEX,
        "KeyConditionExpression": "user_id = :user_id",
        "ExpressionAttributeValues": {":user_id": {"S": user_id}},
    }
    return _read_page(request, limit, next_token, INDEX_KEY_FIELDS, user_id=user_id)


def _read_page(
    request: dict[str, Any], limit: int, next_token: str | None, key_fields: frozenset[str], user_id: str | None = None
) -> tuple[Sequence[Order], str | None]:
    """One page of a Scan or Query, with our own opaque token instead of LastEvaluatedKey.

    Asks for limit + 1 items: if the extra one exists there is a next page, and the token is the key of
    the last order returned. (With exactly `limit`, DynamoDB hands back a LastEvaluatedKey whenever the
    page is full, even when nothing follows: the client would fetch an empty last page.)
    """
    request["Limit"] = limit + 1
    if next_token is not None:
        start_key = decode_page_token(next_token, key_fields)
        # A token from another user's listing would silently jump into the wrong partition.
        if user_id is not None and start_key["user_id"]["S"] != user_id:
            raise InvalidPageToken("next belongs to another user's listing")
        request["ExclusiveStartKey"] = start_key
    try:
        with _unavailable_as_storage_error():
            response = _dynamodb().query(**request) if user_id is not None else _dynamodb().scan(**request)
    except ClientError as error:
        # A start key that decodes fine but does not fit the table: still the client's token.
        if next_token is not None and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidPageToken("next is not a valid page token") from error
        raise
    items = response.get("Items", [])
    if len(items) > limit:
        items = items[:limit]
        following: str | None = encode_page_token({name: items[-1][name] for name in key_fields})
    elif "LastEvaluatedKey" in response:  # DynamoDB stopped early (1 MB per call): carry on from there
        following = encode_page_token(response["LastEvaluatedKey"])
    else:
        following = None
    return [_from_item(item) for item in items], following


# --- paging tokens: DynamoDB's LastEvaluatedKey, made opaque ------------------------------------------
# (The users-service has the same two functions. Copied, not shared — see config.py.)


def encode_page_token(last_key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in last_key.items()}
    raw = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str, fields: frozenset[str]) -> dict[str, Any]:
    """Turn a client's token back into an ExclusiveStartKey with exactly `fields` — or raise.

    The token comes from the client, so it is checked like any other input: base64url, JSON, an object
    with exactly the expected key fields, all strings. Anything else would reach DynamoDB as a malformed
    request (a 500) instead of being the client's mistake (a 422).
    """
    if len(token) > MAX_PAGE_TOKEN_LENGTH or not TOKEN_ALPHABET.fullmatch(token):
        raise InvalidPageToken("next is not a valid page token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        plain = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidPageToken("next is not a valid page token") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != fields
        or not all(isinstance(value, str) and value for value in plain.values())
    ):
        raise InvalidPageToken("next is not a valid page token")
    return {name: {"S": value} for name, value in plain.items()}
