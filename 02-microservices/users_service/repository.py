"""users-service persistence: DynamoDB, spelled out in boto3.

This is the half of the problem the split into services did not fix. The repository *is* DynamoDB:
it builds its own boto3 client, asks config.py (and so the runtime) for its table, speaks DynamoDB's
attribute format, and its paging token is DynamoDB's LastEvaluatedKey. The service layer calls these
functions directly — there is no interface in between — so moving users to another database means
rewriting this module and re-testing everything above it, and testing anything above it needs a
DynamoDB (moto, in tests/).
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

from users_service.config import AWS_CLIENT_CONFIG, users_table
from users_service.models import MAX_PAGE_TOKEN_LENGTH, User

# What a users-table LastEvaluatedKey looks like once decoded: the table's key, nothing else.
PAGE_KEY_FIELDS = frozenset({"id"})
TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


class InvalidPageToken(ValueError):
    """The client's `next` token is not one we issued."""


# One low-level client per process: creating a client costs tens of milliseconds, and boto3 clients
# (unlike boto3 "resources") are safe to share between FastAPI's worker threads. Created on first use
# so that importing the module needs no AWS at all. The endpoint comes from boto3's standard
# environment (AWS_ENDPOINT_URL locally) — this code does not know whether it is talking to moto.
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


def _to_item(user: User) -> dict[str, Any]:
    return {
        "id": {"S": user.id},
        "name": {"S": user.name},
        "email": {"S": user.email},
        "created_at": {"S": user.created_at},
    }


def _from_item(item: dict[str, Any]) -> User:
    return User(
        id=item["id"]["S"],
        name=item["name"]["S"],
        email=item["email"]["S"],
        created_at=item["created_at"]["S"],
    )


def add(user: User) -> None:
    with _unavailable_as_storage_error():
        _dynamodb().put_item(TableName=users_table(), Item=_to_item(user))


def get(user_id: str) -> User | None:
    # ConsistentRead: the orders-service asks "does this user exist?" right after a client created
    # them; an eventually consistent read could still say no.
    with _unavailable_as_storage_error():
        response = _dynamodb().get_item(TableName=users_table(), Key={"id": {"S": user_id}}, ConsistentRead=True)
    item = response.get("Item")
    return _from_item(item) if item else None


def delete(user_id: str) -> bool:
    """Delete the user; False when there was none (one round trip, no read-then-delete race)."""
    try:
        with _unavailable_as_storage_error():
            _dynamodb().delete_item(
                TableName=users_table(),
                Key={"id": {"S": user_id}},
                ConditionExpression="attribute_exists(id)",
            )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def list(limit: int, next_token: str | None = None) -> tuple[Sequence[User], str | None]:
    """One page of users (a Scan) and the token for the next page, or None on the last one.

    Asks for limit + 1 items: if the extra one exists there is a next page, and the token is the key of
    the last user returned. (With exactly `limit`, DynamoDB hands back a LastEvaluatedKey whenever the
    page is full, even when nothing follows: the client would fetch an empty last page.)
    """
    request: dict[str, Any] = {"TableName": users_table(), "Limit": limit + 1}
    if next_token is not None:
        request["ExclusiveStartKey"] = decode_page_token(next_token)
    try:
        with _unavailable_as_storage_error():
            response = _dynamodb().scan(**request)
    except ClientError as error:
        # A start key that decodes fine but does not fit the table: still the client's token.
        if next_token is not None and error.response.get("Error", {}).get("Code") == "ValidationException":
            raise InvalidPageToken("next is not a valid page token") from error
        raise
    items = response.get("Items", [])
    if len(items) > limit:
        items = items[:limit]
        following: str | None = encode_page_token({name: items[-1][name] for name in PAGE_KEY_FIELDS})
    elif "LastEvaluatedKey" in response:  # DynamoDB stopped early (1 MB per call): carry on from there
        following = encode_page_token(response["LastEvaluatedKey"])
    else:
        following = None
    return [_from_item(item) for item in items], following


# --- paging tokens: DynamoDB's LastEvaluatedKey, made opaque ------------------------------------------


def encode_page_token(last_key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in last_key.items()}
    raw = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str) -> dict[str, Any]:
    """Turn a client's token back into an ExclusiveStartKey — or raise InvalidPageToken.

    The token comes from the client, so it is checked like any other input: base64url, JSON, an object
    with exactly our key's fields, all strings. Anything else would reach DynamoDB as a malformed
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
        or set(plain) != PAGE_KEY_FIELDS
        or not all(isinstance(value, str) and value for value in plain.values())
    ):
        raise InvalidPageToken("next is not a valid page token")
    return {name: {"S": value} for name, value in plain.items()}
