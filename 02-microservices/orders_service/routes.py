"""orders-service HTTP routes: translate HTTP to service calls and service outcomes back to HTTP.

Plain `def` routes: boto3 and the users-service call are synchronous, so FastAPI runs them in its
thread pool.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Response

from orders_service import config, service
from orders_service.models import DEFAULT_PAGE_SIZE, Health, Order, OrderCreate, OrderPage, PageSize, PageToken, errors
from orders_service.repository import InvalidPageToken
from orders_service.users_client import UsersClient, UsersServiceUnavailable, http_client

router = APIRouter()

ORDER_NOT_FOUND = "Order not found"


def _bad_token(error: InvalidPageToken) -> HTTPException:
    # Same shape as FastAPI's own validation errors, so clients parse one format everywhere.
    return HTTPException(
        status_code=422, detail=[{"loc": ["query", "next"], "msg": str(error), "type": "value_error"}]
    )


@router.post("/orders", status_code=201, response_model=Order, responses=errors(400, 404, 413, 503))
def create_order(body: OrderCreate, users_http: Annotated[httpx.Client, Depends(http_client)]) -> Order:
    try:
        return service.create_order(body, UsersClient(users_http))
    except service.UserNotFound:
        raise HTTPException(status_code=404, detail="User not found") from None
    except UsersServiceUnavailable as error:
        # Nothing was stored; the client may try again (the users-service may be restarting).
        raise HTTPException(
            status_code=503, detail=f"users-service unavailable: {error}", headers={"Retry-After": "1"}
        ) from None


@router.get("/orders", response_model=OrderPage, responses=errors(413, 503))
def list_orders(
    user_id: uuid.UUID | None = None, limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None
) -> OrderPage:
    try:
        return service.list_orders(str(user_id) if user_id else None, limit, next_token)
    except InvalidPageToken as error:
        raise _bad_token(error) from None


@router.get("/orders/{order_id}", response_model=Order, responses=errors(404, 413, 503))
def get_order(order_id: uuid.UUID) -> Order:
    try:
        return service.get_order(str(order_id))
    except service.OrderNotFound:
        raise HTTPException(status_code=404, detail=ORDER_NOT_FOUND) from None


@router.delete("/orders/{order_id}", status_code=204, response_class=Response, responses=errors(404, 413, 503))
def delete_order(order_id: uuid.UUID) -> Response:
    try:
        service.delete_order(str(order_id))
    except service.OrderNotFound:
        raise HTTPException(status_code=404, detail=ORDER_NOT_FOUND) from None
    return Response(status_code=204)


@router.get("/health", response_model=Health, responses=errors(413))
def health() -> Health:
    return Health(status="ok", stage="microservices", runtime=config.runtime())
