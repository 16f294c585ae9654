"""The shop as a monolith: one FastAPI app, the way the talk's first version grew.

Read it for what it does *and* for what every function assumes. `create_user` does not just save a
user. It also knows:

- HTTP: a missing user, a tampered page token, an unreachable database are raised as FastAPI's
  `HTTPException`, from inside the business function.
  `create_user` cannot be called from a queue consumer, a CLI or a plain unit test without FastAPI.
- The database: boto3 and DynamoDB's wire format (`{"S": "..."}`, condition expressions, scan keys)
  are written out in the business functions. Moving to PostgreSQL means rewriting every one of them.
- The runtime: where the table names come from (an environment variable on Lambda, SSM Parameter
  Store on ECS, a mounted file on EKS) is decided inside the app, by one lookup branching on RUNTIME.

None of it is wrong. It works on all three runtimes and was quick to write. The cost shows when
something changes — a fourth runtime, a third entity, another database: count the places to edit.
And because nothing is passed in, nothing can be swapped out: the tests need a DynamoDB (moto).
Even importing the module needs a configured runtime: it reads its table names at import (below).
"""

import base64
import json
import logging
import os
import random
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
from fastapi import HTTPException, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from mangum import Mangum
from pydantic import BaseModel, Field, StringConstraints
from snapshot_restore_py import register_after_restore, register_before_snapshot
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.routing import Match

# FastAPIOffline: FastAPI whose /docs loads Swagger UI from the installed package, not a CDN, so it
# renders offline. No /redoc: ReDoc's bundle fetches its logo from the vendor's site even when local.
app = FastAPIOffline(
    title="Shapeshifting shop — monolith", redoc_url=None, swagger_ui_parameters={"validatorUrl": None}
)
log = logging.getLogger("monolith")

MAX_BODY_BYTES = 64 * 1024  # the largest request body accepted (docs/contract.md); a user or order is < 1 KiB
TOO_LARGE = f"Request body too large: at most {MAX_BODY_BYTES} bytes"
RETRY_AFTER_SECONDS = 1  # what a 503 tells the client to wait before trying again

ORDERS_BY_USER_INDEX = "user_id-index"  # hard-coded: the code knows the table's physical layout


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
# Each runtime hands the app its settings differently, and the app has to know all of them: one
# lookup, `setting("users/table")`, branching on RUNTIME. Written the way a developer without an
# architecture would — once, not once per entity — and still every runtime's plumbing (boto3's SSM,
# the mounted file, the environment) lives inside the app, next to the business code that calls it.
# A fourth runtime is an edit here; a test cannot hand the app a table name without faking a runtime.
#
# Cached for the life of the process: otherwise every request pays an SSM round trip (and counts
# against SSM's request rate) or re-reads the file. The price: a changed parameter is only seen by a
# new process — a new Lambda execution environment, ECS task or pod. Tests call `setting.cache_clear()`.
#
# Logical keys are paths (docs/contract.md): `users/table` is the SSM parameter name under the prefix,
# the path into the JSON file, and (upper-cased, `/` -> `_`) the environment variable name.

RUNTIMES = ("LAMBDA", "ECS", "EKS")


class ConfigurationError(RuntimeError):
    """The deployment is misconfigured (unknown RUNTIME, missing setting): the process must not start."""


def runtime() -> str:
    """RUNTIME, trimmed and upper-cased (`lambda` is `LAMBDA`); a ConfigurationError if it is no runtime."""
    raw = os.environ.get("RUNTIME", "").strip()
    if not raw:
        raise ConfigurationError(f"RUNTIME is not set; expected one of {', '.join(RUNTIMES)}")
    if raw.upper() not in RUNTIMES:
        raise ConfigurationError(f"RUNTIME={raw!r} is not supported; expected one of {', '.join(RUNTIMES)}")
    return raw.upper()


@cache
def setting(key: str) -> str:
    """The value of logical key `key` (e.g. "users/table"), read where the current runtime keeps it."""
    current = runtime()
    if current == "LAMBDA":
        # The deploy script put the value in the function's environment variables.
        name = key.replace("/", "_").upper()
        value = os.environ.get(name)
        if not value:
            raise ConfigurationError(f"environment variable {name} is not set (config key {key!r})")
        return value
    if current == "ECS":
        # The task reads Parameter Store (its task role needs ssm:GetParameter, and kms:Decrypt for a
        # SecureString: WithDecryption is harmless for plain strings).
        name = f"{os.environ.get('SSM_PREFIX', '/shop').rstrip('/')}/{key}"
        try:
            return _aws("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            if code == "ParameterNotFound":
                raise ConfigurationError(f"SSM parameter {name} not found (config key {key!r})") from error
            raise ConfigurationError(f"cannot read SSM parameter {name}: {code}") from error
        except BotoCoreError as error:  # SSM unreachable or timed out: this process cannot start either
            raise ConfigurationError(f"cannot read SSM parameter {name}: {error}") from error
    if current == "EKS":
        # A ConfigMap mounted into the pod as a JSON file, {"users": {"table": ...}}.
        path = os.environ.get("CONFIG_FILE", "/etc/shop/config.json")
        try:
            node: Any = json.loads(Path(path).read_bytes())
        except FileNotFoundError:
            raise ConfigurationError(f"config file {path} not found (is the ConfigMap mounted?)") from None
        except OSError as error:
            raise ConfigurationError(f"cannot read config file {path}: {error.strerror}") from None
        except ValueError:
            raise ConfigurationError(f"config file {path} is not valid JSON") from None
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                raise ConfigurationError(f"config key {key!r} not found in {path}")
            node = node[part]
        if not isinstance(node, str) or not node:
            raise ConfigurationError(f"config key {key!r} in {path} must be a non-empty string")
        return node
    raise ConfigurationError(f"RUNTIME={current!r} is not supported")  # runtime() let through a new name


# --- request size -------------------------------------------------------------------------------------
# Bodies over MAX_BODY_BYTES are refused with a 413 before any route uses them. Starlette's
# RequestBodyLimitMiddleware counts a body as it arrives (a chunked one too: no Content-Length);
# through Mangum on Lambda the body arrives in one piece, and the same check applies.


class BodyLimit:
    """A shim: Starlette's 413 is plain text, sent after a route that never reads the body has run (a DELETE).

    So a declared Content-Length over the limit is refused here first, in the contract's JSON. A body
    sent without one is counted by Starlette's RequestBodyLimitMiddleware (wrapped) as a route reads
    it; the HTTPException(413) it raises then is answered by `http_error` below, in the same words.
    """

    def __init__(self, app: Any) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=MAX_BODY_BYTES)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        declared = Headers(scope=scope).get("content-length", "") if scope["type"] == "http" else ""
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await JSONResponse(status_code=413, content={"detail": TOO_LARGE})(scope, receive, send)
        await self.app(scope, receive, send)


app.add_middleware(BodyLimit)


# --- small helpers ----------------------------------------------------------------------------------


def _invalid(where: str, field: str, msg: str) -> HTTPException:
    # Business rules answer in HTTP: the 422 and FastAPI's error shape are baked into the logic.
    return HTTPException(422, detail=[{"loc": [where, field], "msg": msg, "type": "value_error"}])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # fixed width: the GSI sorts these strings


# Pagination: DynamoDB hands back LastEvaluatedKey; the client gets it as an opaque base64url token
# and returns it as `next`. A token is client input, so it is checked before it reaches DynamoDB.


def _encode_token(key: dict[str, Any]) -> str:
    plain = {name: value["S"] for name, value in key.items()}  # all our key attributes are strings
    raw = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


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


def _page(
    read: Callable[..., Any], params: dict[str, Any], limit: int, token_keys: set[str], next_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page from `read` (DynamoDB's scan or query): its items and the next page's token.

    Asks for limit + 1 items: if the extra one exists there is a next page, and the token is the key of
    the last item returned. (With exactly `limit`, DynamoDB hands back a LastEvaluatedKey whenever the
    page is full, even when nothing follows: the client would fetch an empty last page.)
    """
    try:
        response = read(**params, Limit=limit + 1)
    except ClientError as error:
        # DynamoDB rejects a start key that does not fit the table or index: still the token's fault.
        if next_token is not None and error.response["Error"]["Code"] == "ValidationException":
            raise _invalid("query", "next", "next is not a valid page token") from error
        _raise_if_unavailable(error)
        raise
    except BotoCoreError as error:
        _raise_if_unavailable(error)
        raise
    items = response["Items"]
    if len(items) > limit:
        items = items[:limit]
        return items, _encode_token({name: items[-1][name] for name in token_keys})
    if "LastEvaluatedKey" in response:  # DynamoDB stopped early (1 MB per call): carry on from there
        return items, _encode_token(response["LastEvaluatedKey"])
    return items, None


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


def create_user(name: str, email: str) -> dict[str, Any]:
    # HTTP errors, configuration lookup and DynamoDB, all in one function. (The field rules ran in
    # UserCreate, below: FastAPI's request model is the one place they are written.)
    user = {"id": str(uuid.uuid4()), "name": name, "email": email, "created_at": _now()}
    try:
        _aws("dynamodb").put_item(
            TableName=setting("users/table"),
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
            TableName=setting("users/table"), Key={"id": {"S": str(user_id)}}, ConsistentRead=True
        )
    except (BotoCoreError, ClientError) as error:
        _raise_if_unavailable(error)
        raise
    if "Item" not in response:
        raise HTTPException(404, detail="User not found")
    return _user(response["Item"])


def list_users(limit: int, next_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": setting("users/table")}
    if next_token is not None:
        params["ExclusiveStartKey"] = _decode_token(next_token, {"id"})
    items, following = _page(_aws("dynamodb").scan, params, limit, {"id"}, next_token)
    return {"items": [_user(item) for item in items], "next": following}


def delete_user(user_id: uuid.UUID) -> None:
    # The condition makes "not found" and "deleted" one atomic call instead of a read, then a write.
    try:
        _aws("dynamodb").delete_item(
            TableName=setting("users/table"),
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


def create_order(user_id: uuid.UUID, product: str, quantity: int) -> dict[str, Any]:
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
                        "TableName": setting("users/table"),
                        "Key": {"id": {"S": order["user_id"]}},
                        "ConditionExpression": "attribute_exists(id)",
                    }
                },
                {"Put": {"TableName": setting("orders/table"), "Item": item}},
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
            TableName=setting("orders/table"), Key={"id": {"S": str(order_id)}}, ConsistentRead=True
        )
    except (BotoCoreError, ClientError) as error:
        _raise_if_unavailable(error)
        raise
    if "Item" not in response:
        raise HTTPException(404, detail="Order not found")
    return _order(response["Item"])


def list_orders(user_id: uuid.UUID | None, limit: int, next_token: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"TableName": setting("orders/table")}
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
    items, following = _page(read, params, limit, token_keys, next_token)
    return {"items": [_order(item) for item in items], "next": following}


def delete_order(order_id: uuid.UUID) -> None:
    try:
        _aws("dynamodb").delete_item(
            TableName=setting("orders/table"),
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


# --- HTTP: what a client may send and gets back --------------------------------------------------
# The field rules are written once, in these request models: pydantic enforces them (a 422 naming the
# field) and FastAPI writes them into /openapi.json, so the document and the behaviour cannot drift.
# The models, the error answers and the routes are the same in every stage (docs/contract.md).

NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
PRODUCT_MIN, PRODUCT_MAX = 1, 200
QUANTITY_MIN, QUANTITY_MAX = 1, 1000
PAGE_SIZE_MIN, PAGE_SIZE_MAX, DEFAULT_PAGE_SIZE = 1, 100, 20
MAX_PAGE_TOKEN_LENGTH = 1024  # far above any key we issue; bounds the work done on garbage

# local@domain.tld with no whitespace: one "@", a dot after it. Deliberately simple. \s alone is not
# the same set in every regex engine (JSON Schema's ECMA-262, pydantic's Rust, Python's re), so the
# few characters they disagree on are named too: every reader of the schema draws the same line.
NOT_SPACE = r"[^@\s\x1c-\x1f\x85\ufeff]"
EMAIL_PATTERN = rf"^{NOT_SPACE}+@{NOT_SPACE}+\.{NOT_SPACE}+$"

# Lengths are counted as sent, in characters, as JSON Schema's minLength/maxLength count them. A string
# that is not text (a lone surrogate, "\ud800", which JSON allows) is a 422 from pydantic: it could
# never be stored or sent back as UTF-8.
Name = Annotated[str, StringConstraints(min_length=NAME_MIN, max_length=NAME_MAX)]
Email = Annotated[str, StringConstraints(max_length=EMAIL_MAX, pattern=EMAIL_PATTERN)]
Product = Annotated[str, StringConstraints(min_length=PRODUCT_MIN, max_length=PRODUCT_MAX)]
PageSize = Annotated[int, Query(ge=PAGE_SIZE_MIN, le=PAGE_SIZE_MAX)]
PageToken = Annotated[str | None, Query(alias="next", max_length=MAX_PAGE_TOKEN_LENGTH)]


class UserCreate(BaseModel):
    name: Name
    email: Email


class OrderCreate(BaseModel):
    user_id: uuid.UUID
    product: Product
    # strict: a JSON integer only — "5", 5.0 and true are rejected instead of quietly converted.
    quantity: Annotated[int, Field(strict=True, ge=QUANTITY_MIN, le=QUANTITY_MAX)]


class User(BaseModel):
    id: str
    name: str
    email: str
    created_at: str  # ISO 8601 UTC with microseconds


class Order(BaseModel):
    id: str
    user_id: str
    product: str
    quantity: int
    status: str  # "pending" on creation; the contract defines no other yet
    created_at: str


class UserPage(BaseModel):
    items: list[User]
    next: str | None


class OrderPage(BaseModel):
    items: list[Order]
    next: str | None


class Health(BaseModel):
    status: str
    stage: str
    runtime: str


class Error(BaseModel):
    detail: str


# The answers besides success, for the OpenAPI document: every status an operation can return is
# declared on it (FastAPI adds the 422 itself), each with the {"detail": …} body.
_ERRORS: dict[int, dict[str, Any]] = {
    400: {"model": Error, "description": "The body cannot be read (not UTF-8); nothing was changed"},
    404: {"model": Error, "description": "Not found"},
    413: {"model": Error, "description": f"Request body over {MAX_BODY_BYTES} bytes; nothing was changed"},
    503: {
        "model": Error,
        "description": "Cannot answer right now (the database or a service it needs); nothing was changed",
        "headers": {
            "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
        },
    },
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: _ERRORS[status] for status in statuses}


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")  # what a 405 may list


async def http_error(request: Request, error: StarletteHTTPException) -> Response:
    """FastAPI's answer to an HTTP error, except that a 405's `Allow` lists every method of the path.

    Starlette names only the methods of the first route whose path matched (`Allow: POST` on /users,
    which also has GET).
    """
    if error.status_code == 413:  # Starlette's body limit says "Content Too Large"; the contract names the limit
        error = StarletteHTTPException(413, TOO_LARGE)
    if error.status_code == 405:
        allowed = [
            method
            for method in HTTP_METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.routes)
        ]
        error = StarletteHTTPException(405, error.detail, headers={"Allow": ", ".join(allowed)})
    return await http_exception_handler(request, error)


async def request_invalid(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's 422 shape, minus the echoed `input` (and `ctx`): the body may be 64 KiB, and an input
    Python's json accepts but cannot write back (NaN, a lone surrogate) would turn the 422 into a 500."""
    detail = [
        {
            # A message or location may quote a character of the input: keep it encodable.
            "loc": [part.encode("utf-8", "backslashreplace").decode() if isinstance(part, str) else part
                    for part in problem["loc"]],
            "msg": problem["msg"].encode("utf-8", "backslashreplace").decode(),
            "type": problem["type"],
        }
        for problem in error.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


app.add_exception_handler(StarletteHTTPException, http_error)
app.add_exception_handler(RequestValidationError, request_invalid)


# --- HTTP routes ------------------------------------------------------------------------------------
# Plain `def`: boto3 blocks, so FastAPI runs them in its thread pool. `name=` is the operation's name in
# /openapi.json, the same in every stage (here the plain names belong to the business functions).


@app.get("/health", name="health", response_model=Health, responses=errors(413))
def health_route() -> dict[str, Any]:
    return {"status": "ok", "stage": "monolith", "runtime": runtime()}


@app.post("/users", name="create_user", status_code=201, response_model=User, responses=errors(400, 413, 503))
def create_user_route(body: UserCreate) -> dict[str, Any]:
    return create_user(body.name, body.email)


@app.get("/users", name="list_users", response_model=UserPage, responses=errors(413, 503))
def list_users_route(limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None) -> dict[str, Any]:
    return list_users(limit, next_token)


@app.get("/users/{user_id}", name="get_user", response_model=User, responses=errors(404, 413, 503))
def get_user_route(user_id: uuid.UUID) -> dict[str, Any]:
    return get_user(user_id)


@app.delete(
    "/users/{user_id}", name="delete_user", status_code=204, response_class=Response, responses=errors(404, 413, 503)
)
def delete_user_route(user_id: uuid.UUID) -> Response:
    delete_user(user_id)
    return Response(status_code=204)


@app.post("/orders", name="create_order", status_code=201, response_model=Order, responses=errors(400, 404, 413, 503))
def create_order_route(body: OrderCreate) -> dict[str, Any]:
    return create_order(body.user_id, body.product, body.quantity)


@app.get("/orders", name="list_orders", response_model=OrderPage, responses=errors(413, 503))
def list_orders_route(
    user_id: uuid.UUID | None = None, limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None
) -> dict[str, Any]:
    return list_orders(user_id, limit, next_token)


@app.get("/orders/{order_id}", name="get_order", response_model=Order, responses=errors(404, 413, 503))
def get_order_route(order_id: uuid.UUID) -> dict[str, Any]:
    return get_order(order_id)


@app.delete(
    "/orders/{order_id}", name="delete_order", status_code=204, response_class=Response, responses=errors(404, 413, 503)
)
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
    setting("users/table")
    setting("orders/table")
except ConfigurationError as error:
    sys.exit(f"monolith: cannot start: {error}")


# --- SnapStart: what the snapshot may keep, what each restored environment makes afresh ---------------
# With SnapStart, Lambda runs the init phase (importing this module) once, when a version is published,
# snapshots the initialised environment, and every cold start resumes a copy of that snapshot. Whatever
# init left in memory is then shared by all those environments. The runtime calls the hooks below around
# the snapshot; anywhere else (uvicorn, the tests) registering them is all that happens.


@register_before_snapshot
def warm_before_snapshot() -> None:
    """Safe to share, so done once for all restored environments: the OpenAPI document (every route's
    and model's schema compiled) and the AWS SDK's DynamoDB model (loading it is most of what creating a
    client costs; boto3 keeps it cached for the clients made after restore)."""
    app.openapi()
    _aws("dynamodb")


@register_after_restore
def refresh_after_restore() -> None:
    """Not safe to share. AWS clients: their connection pools and the credentials they resolved at init
    belong to the snapshot. `random`: every restored environment would resume the same generator state
    and draw the same numbers (botocore's retry jitter included: lockstep retries). uuid4 is safe as it
    is: it reads os.urandom, never the snapshot's memory."""
    random.seed()
    with _clients_lock:
        _clients.clear()  # the next _aws() call makes a new client: new pool, credentials of this environment
