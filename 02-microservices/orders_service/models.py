"""The orders-service's HTTP models: what a client may send, and what it gets back.

The field rules are written once, here: pydantic enforces them (a 422 whose `loc` names the field) and
FastAPI writes them into /openapi.json, so the document and the behaviour cannot drift. The models and
error answers are the same in every stage (docs/contract.md). `Order` doubles as the storage shape the
repository returns.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field, StringConstraints

PRODUCT_MIN, PRODUCT_MAX = 1, 200
QUANTITY_MIN, QUANTITY_MAX = 1, 1000
PAGE_SIZE_MIN, PAGE_SIZE_MAX, DEFAULT_PAGE_SIZE = 1, 100, 20
MAX_PAGE_TOKEN_LENGTH = 1024  # far above any key we issue; bounds the work done on garbage
MAX_BODY_BYTES = 64 * 1024  # the largest request body accepted (main.py); an order is well under 1 KiB

# Counted as sent, in characters, as JSON Schema's maxLength counts them. A string that is not text (a
# lone surrogate, "\ud800", which JSON allows) is a 422 from pydantic: it could never be stored as UTF-8.
Product = Annotated[str, StringConstraints(min_length=PRODUCT_MIN, max_length=PRODUCT_MAX)]
PageSize = Annotated[int, Query(ge=PAGE_SIZE_MIN, le=PAGE_SIZE_MAX)]
PageToken = Annotated[str | None, Query(alias="next", max_length=MAX_PAGE_TOKEN_LENGTH)]


class OrderCreate(BaseModel):
    user_id: uuid.UUID
    product: Product
    # strict: a JSON integer only — "5", 5.0 and true are rejected instead of quietly converted.
    quantity: Annotated[int, Field(strict=True, ge=QUANTITY_MIN, le=QUANTITY_MAX)]


class Order(BaseModel):
    id: str
    user_id: str
    product: str
    quantity: int
    status: str  # "pending" on creation; the contract defines no other yet
    created_at: str


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


