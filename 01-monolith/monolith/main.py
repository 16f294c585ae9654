"""The shop as a monolith: one FastAPI app, the way the talk's first version grew.

Read it for what it does *and* for what every function assumes. `save_user` does not just save a
user. It also knows:

- HTTP: a broken rule is raised as FastAPI's `HTTPException`, from inside the business function.
  `save_user` cannot be called from a queue consumer, a CLI or a plain unit test without FastAPI.
- The database: boto3 and DynamoDB's wire format (`{"S": "..."}`, condition expressions, scan keys)
  are written out in the business functions. Moving to PostgreSQL means rewriting every one of them.
- The runtime: where the table names come from (an environment variable on Lambda, SSM Parameter
  Store on ECS, a mounted file on EKS) is decided inline, by branching on RUNTIME, once per entity.

None of it is wrong. It works on all three runtimes and was quick to write. The cost shows when
something changes — a fourth runtime, a third entity, another database: count the places to edit.
And because nothing is passed in, nothing can be swapped out: the tests need a DynamoDB (moto).
Even importing the module needs a configured runtime: it reads its table names at import (below).
"""

import base64
import json
import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError
from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import BaseModel, Field

from monolith.offline_docs import serve_docs_offline

app = FastAPI(title="Shapeshifting shop — monolith")
serve_docs_offline(app)  # /docs from local assets: it renders offline
log = logging.getLogger("monolith")

MAX_BODY_BYTES = 64 * 1024  # the largest request body accepted (docs/contract.md); a user or order is < 1 KiB
RETRY_AFTER_SECONDS = 1  # what a 503 tells the client to wait before trying again

ORDERS_BY_USER_INDEX = "user_id-index"  # hard-coded: the code knows the table's physical layout
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# --- AWS clients ------------------------------------------------------------------------------------
# One boto3 client per service for the whole process. There is no way to hand the functions below a
# different store: they reach for these globals. That is why the tests need moto.
#
# Created on first use rather than at import, because boto3 reads AWS_ENDPOINT_URL and the region
# when a client is created: a client built at import would freeze whatever the environment held when
# something first imported this module (in a test, before the local AWS is running). The lock is
# there because FastAPI runs `def` routes in a thread pool and creating clients from boto3's default
# session is not thread-safe (using a client afterwards is).
#
# Timeouts and retries: boto3's defaults (60 s to connect, 60 s to read, legacy retries) would hold a
# client for minutes when DynamoDB is unreachable — long after it gave up on us. A DynamoDB call
# normally takes milliseconds, so: 1 s to connect, 2 s to read, and at most 2 attempts ("standard"
# retry mode: backs off with jitter and retries throttling too). Worst case about 5 s, then the
# request fails with a 503 and the next request tries again on a fresh connection — no restart needed.
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
AWS_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 2})


def _aws(service: str) -> Any:
    with _clients_lock:
        if service not in _clients:
            _clients[service] = boto3.client(service, config=AWS_CLIENT_CONFIG)
        return _clients[service]


# DynamoDB answers that mean "not now" rather than "never": throttled, or failing on its side.
_TRY_AGAIN_CODES = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
_TRY_AGAIN_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"}


def _raise_if_unavailable(error: BotoCoreError | ClientError) -> None:
    """A 503 with Retry-After if `error` means DynamoDB cannot answer right now; otherwise return.

    Called from an `except` around every boto3 call below — the monolith knows, in each business
    function, what a botocore exception looks like. Anything else is re-raised by the caller (a 500).
    """
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons") or []}
        transient = code in _TRY_AGAIN_CODES or status >= 500 or bool(reasons & _TRY_AGAIN_REASONS)
    else:  # could not connect, connection dropped, timed out
        transient = isinstance(error, AwsConnectionError | HTTPClientError)
    if transient:
        log.warning("DynamoDB unavailable: %s", error)
        raise HTTPException(
            503,
            detail="The database is unavailable; nothing was changed. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error


# --- configuration: where are the tables? ----------------------------------------------------------
# Each runtime hands the app its settings differently, and the app has to know all of them. The
# branches are written once per entity: users below, then the same again for orders. Shipping and
# email would each add another copy. Helper functions only hide it: every runtime stays wired into
# every entity's code, and a new runtime means editing all of them.
#
# Cached for the life of the process: otherwise every request pays an SSM round trip (and counts
# against SSM's request rate) or re-reads the file. The price: a changed parameter is only seen by a
# new process — a new Lambda execution environment, ECS task or pod. Tests call `cache_clear()`.


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured (unknown RUNTIME, missing setting): the process must not start."""


@cache
def _users_table_name() -> str:
    runtime = os.environ.get("RUNTIME")
    if runtime == "LAMBDA":
        # The deploy script put the name in the function's environment variables.
        table = os.environ.get("USERS_TABLE")
        if not table:
            raise ConfigurationError("RUNTIME=LAMBDA: environment variable USERS_TABLE is not set")
    elif runtime == "ECS":
        # The task reads Parameter Store (and its task role needs ssm:GetParameter).
        name = f"{os.environ.get('SSM_PREFIX', '/shop').rstrip('/')}/users/table"
        try:
            table = _aws("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except (BotoCoreError, ClientError) as error:
            raise ConfigurationError(f"RUNTIME=ECS: cannot read SSM parameter {name}: {error}") from error
    elif runtime == "EKS":
        # A ConfigMap mounted into the pod as a JSON file.
        path = os.environ.get("CONFIG_FILE", "/etc/shop/config.json")
        try:
            table = json.loads(Path(path).read_text())["users"]["table"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f"RUNTIME=EKS: cannot read users.table from {path}: {error!r}"
            ) from error
    else:
        raise ConfigurationError(f"RUNTIME must be LAMBDA, ECS or EKS, got {runtime!r}")
    if not isinstance(table, str) or not table:
        raise ConfigurationError(f"RUNTIME={runtime}: no users table configured")
    return table


@cache
def _orders_table_name() -> str:
    # The same chain again, for orders. Not a copy-paste accident: this is how it grows.
    runtime = os.environ.get("RUNTIME")
    if runtime == "LAMBDA":
        table = os.environ.get("ORDERS_TABLE")
        if not table:
            raise ConfigurationError("RUNTIME=LAMBDA: environment variable ORDERS_TABLE is not set")
    elif runtime == "ECS":
        name = f"{os.environ.get('SSM_PREFIX', '/shop').rstrip('/')}/orders/table"
        try:
            table = _aws("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except (BotoCoreError, ClientError) as error:
            raise ConfigurationError(f"RUNTIME=ECS: cannot read SSM parameter {name}: {error}") from error
    elif runtime == "EKS":
        path = os.environ.get("CONFIG_FILE", "/etc/shop/config.json")
        try:
            table = json.loads(Path(path).read_text())["orders"]["table"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f"RUNTIME=EKS: cannot read orders.table from {path}: {error!r}"
            ) from error
    else:
        raise ConfigurationError(f"RUNTIME must be LAMBDA, ECS or EKS, got {runtime!r}")
    if not isinstance(table, str) or not table:
        raise ConfigurationError(f"RUNTIME={runtime}: no orders table configured")
    return table


@app.exception_handler(RequestValidationError)
async def _request_invalid(request: Request, error: RequestValidationError) -> Response:
    # FastAPI's own handler, except for the encoding: it echoes the offending input back as UTF-8, and
    # a lone surrogate in it ({"name": ["\ud800"]} is valid JSON) would turn the 422 into a 500.
    body = json.dumps({"detail": jsonable_encoder(error.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


# --- request size -------------------------------------------------------------------------------------
# Bodies over MAX_BODY_BYTES are refused with a 413 before any route reads them: a declared
# Content-Length is checked at once, and a chunked body (no Content-Length) is counted as it arrives
# and refused as soon as it passes the limit. Through Mangum on Lambda the body arrives in one piece,
# and the same check applies.


class BodySizeLimit:
    """ASGI middleware: read at most `limit` bytes of a request body, then hand it to the app."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, receive, send)
        received: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._refuse(scope, receive, send)
            if not message.get("more_body"):
                break
        replay = iter(received)

        async def replayed() -> dict[str, Any]:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        detail = f"Request body too large: at most {self.limit} bytes"
        await JSONResponse(status_code=413, content={"detail": detail})(scope, receive, send)


app.add_middleware(BodySizeLimit)


# --- small helpers ----------------------------------------------------------------------------------


def _invalid(where: str, field: str, msg: str) -> HTTPException:
    # Business rules answer in HTTP: the 422 and FastAPI's error shape are baked into the logic.
    return HTTPException(422, detail=[{"loc": [where, field], "msg": msg, "type": "value_error"}])


def _text(field: str, value: str, low: int, high: int) -> str:
    """`value` trimmed, or a 422 naming `field` if its length is outside low..high."""
    value = value.strip()
    if not low <= len(value) <= high:
        raise _invalid("body", field, f"{field} must be {low}-{high} characters after trimming")
    try:
        value.encode("utf-8")  # a lone surrogate ("\ud800") is valid JSON but not storable text
    except UnicodeEncodeError:
        raise _invalid("body", field, f"{field} must be valid Unicode text") from None
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat()


# Pagination: DynamoDB hands back LastEvaluatedKey; the client gets it as an opaque base64url token
# and returns it as `next`. A token is client input, so it is checked before it reaches DynamoDB.


def _encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    plain = {name: value["S"] for name, value in last_key.items()}  # all our key attributes are strings
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode_token(token: str, keys: set[str]) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, RecursionError):  # bad base64, bad UTF-8, bad JSON, absurd nesting
        raise _invalid("query", "next", "next is not a valid page token") from None
    if (
        not isinstance(plain, dict)
        or set(plain) != keys
        or not all(isinstance(value, str) and value for value in plain.values())
    ):
        raise _invalid("query", "next", "next is not a valid page token")
    return {name: {"S": value} for name, value in plain.items()}


def _page(read: Callable[..., Any], params: dict[str, Any], next_token: str | None) -> dict[str, Any]:
    """One page from `read` (DynamoDB's scan or query)."""
    try:
        return read(**params)
    except ClientError as error:
        # DynamoDB rejects a start key that does not fit the table or index: still the token's fault.
        if next_token is not None and error.response["Error"]["Code"] == "ValidationException":
            raise _invalid("query", "next", "next is not a valid page token") from error
        _raise_if_unavailable(error)
        raise
    except BotoCoreError as error:
        _raise_if_unavailable(error)
        raise


def _user(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name]["S"] for name in ("id", "name", "email", "created_at")}


def _order(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["id"]["S"],
        "user_id": item["user_id"]["S"],
        "product": item["product"]["S"],
        "quantity": int(item["quantity"]["N"]),  # DynamoDB numbers travel as strings
        "status": item["status"]["S"],
        "created_at": item["created_at"]["S"],
    }


# --- users --------------------------------------------------------------------------------------


def save_user(name: str, email: str) -> dict[str, Any]:
    # Validation, HTTP errors, configuration lookup and DynamoDB, all in one function.
    name = _text("name", name, 2, 100)
    email = _text("email", email, 1, 254)
    if not EMAIL_SHAPE.fullmatch(email):
        raise _invalid("body", "email", "email must look like local@domain.tld")
    user = {"id": str(uuid.uuid4()), "name": name, "email": email, "created_at": _now()}
    try:
        _aws("dynamodb").put_item(
            TableName=_users_table_name(),
            Item={key: {"S": value} for key, value in user.items()},
        )
    except (BotoCoreError, ClientError) as error:
        _raise_if_unavailable(error)
        raise
    return user


def get_user(user_id: uuid.UUID) -> dict[str, Any]:
    try:
        # ConsistentRead: a client reads back what it has just created; the default, eventually
        # consistent read may briefly answer 404 for it.
        response = _aws("dynamodb").get_item(
            TableName=_users_table_name(), Key={"id": {"S": str(user_id)}}, ConsistentRead=True
        )
    except (BotoCoreError, ClientError) as error:
        _raise_if_unavailable(error)
        raise
    if "Item" not in response:
        raise HTTPException(404, detail="User not found")
    return _user(response["Item"])


def list_users(limit: int, next_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": _users_table_name(), "Limit": limit}
    if next_token is not None:
        params["ExclusiveStartKey"] = _decode_token(next_token, {"id"})
    page = _page(_aws("dynamodb").scan, params, next_token)
    return {
        "items": [_user(item) for item in page["Items"]],
        "next": _encode_token(page.get("LastEvaluatedKey")),
    }


def delete_user(user_id: uuid.UUID) -> None:
    # The condition makes "not found" and "deleted" one atomic call instead of a read, then a write.
    try:
        _aws("dynamodb").delete_item(
            TableName=_users_table_name(),
            Key={"id": {"S": str(user_id)}},
            ConditionExpression="attribute_exists(id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise HTTPException(404, detail="User not found") from error
        _raise_if_unavailable(error)
        raise
    except BotoCoreError as error:
        _raise_if_unavailable(error)
        raise


# --- orders -------------------------------------------------------------------------------------


def save_order(user_id: uuid.UUID, product: str, quantity: int) -> dict[str, Any]:
    product = _text("product", product, 1, 200)
    if not 1 <= quantity <= 1000:
        raise _invalid("body", "quantity", "quantity must be between 1 and 1000")
    order = {
        "id": str(uuid.uuid4()),
        "user_id": str(user_id),
        "product": product,
        "quantity": quantity,
        "status": "pending",
        "created_at": _now(),
    }
    item = {key: {"N": str(value)} if key == "quantity" else {"S": value} for key, value in order.items()}
    # "The user exists" and "store the order" in one DynamoDB transaction: if the user is deleted
    # between the two, nothing is stored. Easy here because this one process owns both tables —
    # remember it when the microservices stage puts users and orders in different services.
    try:
        _aws("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": _users_table_name(),
                        "Key": {"id": {"S": order["user_id"]}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
                {"Put": {"TableName": _orders_table_name(), "Item": item}},
            ]
        )
    except ClientError as error:
        reasons = error.response.get("CancellationReasons") or [{}]
        if reasons[0].get("Code") == "ConditionalCheckFailed":  # reason 0 is the user check
            raise HTTPException(404, detail="User not found") from error
        _raise_if_unavailable(error)  # a transaction fails as a whole: nothing was stored
        raise
    except BotoCoreError as error:
        _raise_if_unavailable(error)
        raise
    return order


def get_order(order_id: uuid.UUID) -> dict[str, Any]:
    try:
        response = _aws("dynamodb").get_item(
            TableName=_orders_table_name(), Key={"id": {"S": str(order_id)}}, ConsistentRead=True
        )
    except (BotoCoreError, ClientError) as error:
        _raise_if_unavailable(error)
        raise
    if "Item" not in response:
        raise HTTPException(404, detail="Order not found")
    return _order(response["Item"])


def list_orders(user_id: uuid.UUID | None, limit: int, next_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": _orders_table_name(), "Limit": limit}
    if user_id is None:
        read, token_keys = _aws("dynamodb").scan, {"id"}
    else:
        # A user's orders come from the GSI (user_id, created_at), oldest first. Its page keys carry
        # the index attributes too, so a token only fits the same index — and the same user.
        read, token_keys = _aws("dynamodb").query, {"id", "user_id", "created_at"}
        params["IndexName"] = ORDERS_BY_USER_INDEX
        params["KeyConditionExpression"] = "user_id = :user_id"
        params["ExpressionAttributeValues"] = {":user_id": {"S": str(user_id)}}
    if next_token is not None:
        start_key = _decode_token(next_token, token_keys)
        if user_id is not None and start_key["user_id"]["S"] != str(user_id):
            raise _invalid("query", "next", "next belongs to another user's listing")
        params["ExclusiveStartKey"] = start_key
    page = _page(read, params, next_token)
    return {
        "items": [_order(item) for item in page["Items"]],
        "next": _encode_token(page.get("LastEvaluatedKey")),
    }


def delete_order(order_id: uuid.UUID) -> None:
    try:
        _aws("dynamodb").delete_item(
            TableName=_orders_table_name(),
            Key={"id": {"S": str(order_id)}},
            ConditionExpression="attribute_exists(id)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise HTTPException(404, detail="Order not found") from error
        _raise_if_unavailable(error)
        raise
    except BotoCoreError as error:
        _raise_if_unavailable(error)
        raise


# --- HTTP routes ------------------------------------------------------------------------------------
# The request models only pin the JSON *types* (a string, a strict integer, a UUID); the rules live
# in the functions above. Routes are plain `def`: boto3 blocks, so FastAPI runs them in its thread pool.

Limit = Annotated[int, Query(ge=1, le=100)]
NextToken = Annotated[str | None, Query(alias="next", max_length=1024)]


class NewUser(BaseModel):
    name: str
    email: str


class NewOrder(BaseModel):
    user_id: uuid.UUID
    product: str
    quantity: int = Field(strict=True)  # 5 only: not "5", 5.0 or true


@app.get("/health")
def health() -> dict[str, Any]:
    return {"status": "ok", "stage": "monolith", "runtime": os.environ.get("RUNTIME")}


@app.post("/users", status_code=201)
def create_user_route(body: NewUser) -> dict[str, Any]:
    return save_user(body.name, body.email)


@app.get("/users")
def list_users_route(limit: Limit = 20, next_token: NextToken = None) -> dict[str, Any]:
    return list_users(limit, next_token)


@app.get("/users/{user_id}")
def get_user_route(user_id: uuid.UUID) -> dict[str, Any]:
    return get_user(user_id)


@app.delete("/users/{user_id}", status_code=204)
def delete_user_route(user_id: uuid.UUID) -> Response:
    delete_user(user_id)
    return Response(status_code=204)


@app.post("/orders", status_code=201)
def create_order_route(body: NewOrder) -> dict[str, Any]:
    return save_order(body.user_id, body.product, body.quantity)


@app.get("/orders")
def list_orders_route(
    user_id: uuid.UUID | None = None, limit: Limit = 20, next_token: NextToken = None
) -> dict[str, Any]:
    return list_orders(user_id, limit, next_token)


@app.get("/orders/{order_id}")
def get_order_route(order_id: uuid.UUID) -> dict[str, Any]:
    return get_order(order_id)


@app.delete("/orders/{order_id}", status_code=204)
def delete_order_route(order_id: uuid.UUID) -> Response:
    delete_order(order_id)
    return Response(status_code=204)


# On Lambda, Mangum turns the ALB / API Gateway event into an ASGI request for the same app.
handler = Mangum(app, lifespan="off")


# --- startup: fail now, not on the first request -------------------------------------------------
# Importing this module *is* the start: uvicorn imports it on ECS/EKS, and on Lambda the import is the
# function's init phase. So the table names are looked up here, once: a misconfigured process exits
# with one line naming what is missing — the task or pod fails its start, the Lambda init fails (and is
# retried on the next invoke) — instead of answering requests with 500s. The price of doing it at
# module level: nothing, not even a test, can import the monolith without a configured runtime.
try:
    _users_table_name()
    _orders_table_name()
except ConfigurationError as error:
    sys.exit(f"monolith: cannot start: {error}")
