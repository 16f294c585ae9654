"""The orders-service's HTTP models: what a client may send, and what it gets back.

The rules live at the edge, in pydantic: FastAPI turns a violation into a 422 whose `loc` names the
field (docs/contract.md). `Order` doubles as the storage shape the repository returns.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints


def _encodable(value: str) -> str:
    # JSON may carry a lone surrogate ("\ud800"); Python accepts it, but it cannot be encoded as
    # UTF-8 — storing it would make every later response for that order fail. Reject it here.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Product = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_encodable)
]


class OrderCreate(BaseModel):
    """POST /orders body."""

    user_id: uuid.UUID
    product: Product
    # strict: a JSON integer only — "5", 5.0 and true are all rejected instead of quietly converted.
    quantity: int = Field(strict=True, ge=1, le=1000)


class Order(BaseModel):
    id: str
    user_id: str
    product: str
    quantity: int
    status: str  # "pending" on creation; the contract defines no other yet
    created_at: str  # ISO 8601 UTC, kept as the exact string we stored


class OrderPage(BaseModel):
    items: list[Order]
    next: str | None
