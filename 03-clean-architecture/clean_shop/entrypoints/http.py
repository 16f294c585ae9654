"""The HTTP edge: FastAPI routes that translate requests into use-case calls and back.

Thin on purpose. Pydantic checks only *types* here (is `quantity` a JSON integer, is `user_id` a
UUID); the *rules* (name length, email shape, quantity range) live in the domain, so they hold for
every entrypoint, not just this one. Domain and application errors become HTTP errors in the
exception handlers at the bottom, in the same shape FastAPI uses for its own validation errors.

create_app() receives a wired Container instead of building one: this module has no idea whether it
runs on Lambda, ECS or EKS, or whether the data lives in DynamoDB or a dict.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from clean_shop.application.errors import InvalidPageToken, OrderNotFound, StorageUnavailable, UserNotFound
from clean_shop.domain.errors import InvalidField
from clean_shop.domain.model import Order, User
from clean_shop.entrypoints.body_limit import BodySizeLimit
from clean_shop.entrypoints.offline_docs import serve_docs_offline

if TYPE_CHECKING:  # only for the annotation: the container is built by bootstrap, not here
    from clean_shop.bootstrap import Container

STAGE = "clean"
RETRY_AFTER_SECONDS = 1  # what a 503 tells the client to wait before trying again
PageSize = Annotated[int, Query(ge=1, le=100)]
PageToken = Annotated[str | None, Query(alias="next")]


# --- request and response bodies (types only) --------------------------------------------------------


class CreateUserRequest(BaseModel):
    name: str
    email: str


class CreateOrderRequest(BaseModel):
    user_id: uuid.UUID
    product: str
    # strict: a JSON integer only. Lax mode would turn "5", 5.0 and true into 5.
    quantity: int = Field(strict=True)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class UserResponse(BaseModel):
    id: str
    name: str
    email: str
    created_at: str

    @classmethod
    def of(cls, user: User) -> UserResponse:
        return cls(id=user.id, name=user.name, email=user.email, created_at=_timestamp(user.created_at))


class OrderResponse(BaseModel):
    id: str
    user_id: str
    product: str
    quantity: int
    status: str
    created_at: str

    @classmethod
    def of(cls, order: Order) -> OrderResponse:
        return cls(
            id=order.id,
            user_id=order.user_id,
            product=order.product,
            quantity=order.quantity,
            status=order.status.value,
            created_at=_timestamp(order.created_at),
        )


class UserPage(BaseModel):
    items: list[UserResponse]
    next: str | None


class OrderPage(BaseModel):
    items: list[OrderResponse]
    next: str | None


class Health(BaseModel):
    status: str
    stage: str
    runtime: str


# --- the app -----------------------------------------------------------------------------------------


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="Shapeshifting shop: clean architecture", version="1.0")
    serve_docs_offline(app)  # /docs from local assets: it renders offline
    # Routes are plain `def`: the adapters (boto3) block, so FastAPI runs them in its thread pool.

    @app.get("/health")
    def health() -> Health:
        return Health(status="ok", stage=STAGE, runtime=container.runtime)

    @app.post("/users", status_code=201)
    def create_user(body: CreateUserRequest) -> UserResponse:
        return UserResponse.of(container.create_user.execute(body.name, body.email))

    @app.get("/users")
    def list_users(limit: PageSize = 20, next_token: PageToken = None) -> UserPage:
        page = container.list_users.execute(limit=limit, cursor=next_token)
        return UserPage(items=[UserResponse.of(user) for user in page.items], next=page.next)

    @app.get("/users/{user_id}")
    def get_user(user_id: uuid.UUID) -> UserResponse:
        return UserResponse.of(container.get_user.execute(str(user_id)))

    @app.delete("/users/{user_id}", status_code=204, response_class=Response)
    def delete_user(user_id: uuid.UUID) -> Response:
        container.delete_user.execute(str(user_id))
        return Response(status_code=204)

    @app.post("/orders", status_code=201)
    def create_order(body: CreateOrderRequest) -> OrderResponse:
        order = container.create_order.execute(str(body.user_id), body.product, body.quantity)
        return OrderResponse.of(order)

    @app.get("/orders")
    def list_orders(
        user_id: uuid.UUID | None = None, limit: PageSize = 20, next_token: PageToken = None
    ) -> OrderPage:
        page = container.list_orders.execute(
            user_id=None if user_id is None else str(user_id), limit=limit, cursor=next_token
        )
        return OrderPage(items=[OrderResponse.of(order) for order in page.items], next=page.next)

    @app.get("/orders/{order_id}")
    def get_order(order_id: uuid.UUID) -> OrderResponse:
        return OrderResponse.of(container.get_order.execute(str(order_id)))

    @app.delete("/orders/{order_id}", status_code=204, response_class=Response)
    def delete_order(order_id: uuid.UUID) -> Response:
        container.delete_order.execute(str(order_id))
        return Response(status_code=204)

    _add_error_handlers(app)
    app.add_middleware(BodySizeLimit)  # bodies over 64 KiB: 413 before any route reads them
    return app


def _validation_error(location: str, field: str, message: str) -> JSONResponse:
    """FastAPI's own 422 shape, so clients parse one format whoever found the problem."""
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": [location, field], "msg": message, "type": "value_error"}]},
    )


def _printable(value: object) -> object:
    # A lone surrogate ("\ud800") can reach an error message; it cannot be encoded as UTF-8.
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(value, str) else value


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def request_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own shape, minus the echo of the offending "input": the body may be 1 MB, and
        # Python's json accepts NaN/Infinity, which cannot be written back as strict JSON — the
        # default handler answers those requests with a 500.
        detail = [
            {
                "loc": [_printable(part) for part in problem["loc"]],
                "msg": _printable(problem["msg"]),
                "type": problem["type"],
            }
            for problem in error.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": detail})

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
