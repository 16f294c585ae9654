"""users-service HTTP routes: translate HTTP to service calls and service outcomes back to HTTP.

Plain `def` routes: boto3 is synchronous, so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response

from users_service import config, service
from users_service.models import DEFAULT_PAGE_SIZE, Health, PageSize, PageToken, User, UserCreate, UserPage, errors
from users_service.repository import InvalidPageToken

router = APIRouter()

USER_NOT_FOUND = "User not found"


def _bad_token(error: InvalidPageToken) -> HTTPException:
    # Same shape as FastAPI's own validation errors, so clients parse one format everywhere.
    return HTTPException(
        status_code=422, detail=[{"loc": ["query", "next"], "msg": str(error), "type": "value_error"}]
    )


@router.post("/users", status_code=201, response_model=User, responses=errors(400, 413, 503))
def create_user(body: UserCreate) -> User:
    return service.create_user(body)


@router.get("/users", response_model=UserPage, responses=errors(413, 503))
def list_users(limit: PageSize = DEFAULT_PAGE_SIZE, next_token: PageToken = None) -> UserPage:
    try:
        return service.list_users(limit, next_token)
    except InvalidPageToken as error:
        raise _bad_token(error) from None


@router.get("/users/{user_id}", response_model=User, responses=errors(404, 413, 503))
def get_user(user_id: uuid.UUID) -> User:
    try:
        return service.get_user(str(user_id))
    except service.UserNotFound:
        raise HTTPException(status_code=404, detail=USER_NOT_FOUND) from None


@router.delete("/users/{user_id}", status_code=204, response_class=Response, responses=errors(404, 413, 503))
def delete_user(user_id: uuid.UUID) -> Response:
    try:
        service.delete_user(str(user_id))
    except service.UserNotFound:
        raise HTTPException(status_code=404, detail=USER_NOT_FOUND) from None
    return Response(status_code=204)


@router.get("/health", response_model=Health, responses=errors(413))
def health() -> Health:
    return Health(status="ok", stage="microservices", runtime=config.runtime())
