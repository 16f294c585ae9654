"""The HTTP edge: FastAPI routes that translate requests into use-case calls and back.

Thin on purpose. The field rules (name length, email shape, quantity range) are the domain's
(domain/model.py): the request models below are built from the domain's own constants, so pydantic
refuses a bad request with FastAPI's 422 and /openapi.json states every rule, and the domain still
checks them for any other entrypoint. Application errors become HTTP errors in the exception handlers
at the bottom, in the same shape FastAPI uses for its own errors. The models, error answers and
routes are the same in every stage (docs/contract.md).

Routes follow FastAPI's own style: an APIRouter, and the wired Container as a dependency
(`Shop`), which create_app() puts on `app.state`. This module has no idea whether it runs on Lambda,
ECS or EKS, or whether the data lives in DynamoDB or a dict.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, StringConstraints
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.routing import Match

from clean_shop.application.errors import InvalidPageToken, OrderNotFound, StorageUnavailable, UserNotFound
from clean_shop.application.ports import MAX_PAGE_TOKEN_LENGTH
from clean_shop.application.use_cases import DEFAULT_PAGE_SIZE
from clean_shop.bootstrap import Container
from clean_shop.domain import model
from clean_shop.domain.errors import InvalidField
from clean_shop.domain.model import (
    EMAIL_MAX,
    EMAIL_PATTERN,
    NAME_MAX,
    NAME_MIN,
    PRODUCT_MAX,
    PRODUCT_MIN,
    QUANTITY_MAX,
    QUANTITY_MIN,
)

STAGE = "clean"
RETRY_AFTER_SECONDS = 1  # what a 503 tells the client to wait before trying again
PAGE_SIZE_MIN, PAGE_SIZE_MAX = 1, 100
MAX_BODY_BYTES = 64 * 1024  # the largest request body accepted (docs/contract.md); a user or order is < 1 KiB
TOO_LARGE = f"Request body too large: at most {MAX_BODY_BYTES} bytes"


# --- request and response bodies ---------------------------------------------------------------------

# Lengths are counted as sent, in characters, as JSON Schema's minLength/maxLength count them. A string
# that is not text (a lone surrogate, "\ud800", which JSON allows) is a 422 from pydantic here, before
# the domain would refuse it.
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




# --- the routes ----------------------------------------------------------------------------------------
# Plain `def`: the adapters (boto3) block, so FastAPI runs them in its thread pool.

router = APIRouter()


def _container(request: Request) -> Container:
    return request.app.state.container


Shop = Annotated[Container, Depends(_container)]


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _user(user: model.User) -> User:
    return User(id=user.id, name=user.name, email=user.email, created_at=_timestamp(user.created_at))


def _order(order: model.Order) -> Order:
    return Order(
        id=order.id,
        user_id=order.user_id,
        product=order.product,
        quantity=order.quantity,
        status=order.status.value,
        created_at=_timestamp(order.created_at),
    )


@router.get("/health", response_model=Health, responses=errors(413))
def health(shop: Shop) -> Health:
    return Health(status="ok", stage=STAGE, runtime=shop.runtime)


@router.post("/users", status_code=201, response_model=User, responses=errors(400, 413, 503))
def create_user(body: UserCreate, shop: Shop) -> User:
    return _user(shop.create_user.execute(body.name, body.email))


@router.get("/users", response_model=UserPage, responses=errors(413, 503))
def list_users(shop: Shop, limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None) -> UserPage:
    page = shop.list_users.execute(limit=limit, next_token=next_token)
    return UserPage(items=[_user(user) for user in page.items], next=page.next)


@router.get("/users/{user_id}", response_model=User, responses=errors(404, 413, 503))
def get_user(user_id: uuid.UUID, shop: Shop) -> User:
    return _user(shop.get_user.execute(str(user_id)))


@router.delete("/users/{user_id}", status_code=204, response_class=Response, responses=errors(404, 413, 503))
def delete_user(user_id: uuid.UUID, shop: Shop) -> Response:
    shop.delete_user.execute(str(user_id))
    return Response(status_code=204)


@router.post("/orders", status_code=201, response_model=Order, responses=errors(400, 404, 413, 503))
def create_order(body: OrderCreate, shop: Shop) -> Order:
    return _order(shop.create_order.execute(str(body.user_id), body.product, body.quantity))


@router.get("/orders", response_model=OrderPage, responses=errors(413, 503))
def list_orders(
    shop: Shop, user_id: uuid.UUID | None = None, limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None
) -> OrderPage:
    page = shop.list_orders.execute(
        user_id=None if user_id is None else str(user_id), limit=limit, next_token=next_token
    )
    return OrderPage(items=[_order(order) for order in page.items], next=page.next)


@router.get("/orders/{order_id}", response_model=Order, responses=errors(404, 413, 503))
def get_order(order_id: uuid.UUID, shop: Shop) -> Order:
    return _order(shop.get_order.execute(str(order_id)))


@router.delete("/orders/{order_id}", status_code=204, response_class=Response, responses=errors(404, 413, 503))
def delete_order(order_id: uuid.UUID, shop: Shop) -> Response:
    shop.delete_order.execute(str(order_id))
    return Response(status_code=204)


# --- the app -------------------------------------------------------------------------------------------


def create_app(container: Container) -> FastAPI:
    # FastAPIOffline: FastAPI whose /docs loads Swagger UI from the installed package, not a CDN, so it
    # renders offline. No /redoc: ReDoc's bundle fetches its logo from the vendor's site even when local.
    app = FastAPIOffline(
        title="Shapeshifting shop: clean architecture",
        version="1.0",
        redoc_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.container = container
    app.include_router(router)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit)  # bodies over 64 KiB: 413 before any route uses them
    return app


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


def _validation_error(location: str, field: str, message: str) -> JSONResponse:
    """FastAPI's own 422 shape, so clients parse one format whoever found the problem."""
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": [location, field], "msg": message, "type": "value_error"}]},
    )


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


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_invalid)

    @app.exception_handler(InvalidField)
    async def invalid_field(request: Request, error: InvalidField) -> JSONResponse:
        return _validation_error("body", error.field, error.message)

    @app.exception_handler(InvalidPageToken)
    async def invalid_page_token(request: Request, error: InvalidPageToken) -> JSONResponse:
        return _validation_error("query", "next", f"next {error.reason}")

    @app.exception_handler(UserNotFound)
    async def user_not_found(request: Request, error: UserNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": "User not found"})

    @app.exception_handler(OrderNotFound)
    async def order_not_found(request: Request, error: OrderNotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": "Order not found"})

    @app.exception_handler(StorageUnavailable)
    async def storage_unavailable(request: Request, error: StorageUnavailable) -> JSONResponse:
        # The adapter already said "nothing was changed"; the client may simply try again.
        return JSONResponse(
            status_code=503,
            content={"detail": "The database is unavailable; nothing was changed. Try again shortly."},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
