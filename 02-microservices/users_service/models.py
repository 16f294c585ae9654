"""The users-service's HTTP models: what a client may send, and what it gets back.

The rules live at the edge, in pydantic: FastAPI turns a violation into a 422 whose `loc` names the
field (docs/contract.md). The same `User` model is also what the repository returns — one shape for
the wire and for storage, which is convenient and is also coupling: change one, you change the other.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, StringConstraints, field_validator

EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _encodable(value: str) -> str:
    # JSON may carry a lone surrogate ("\ud800"); Python accepts it, but it cannot be encoded as
    # UTF-8 — storing it would make every later response for that user fail. Reject it here.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), AfterValidator(_encodable)
]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_encodable)]


class UserCreate(BaseModel):
    """POST /users body."""

    name: Name
    email: Email

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str) -> str:
        if not EMAIL_SHAPE.fullmatch(value):
            raise ValueError("must look like local@domain.tld")
        return value


class User(BaseModel):
    id: str
    name: str
    email: str
    created_at: str  # ISO 8601 UTC, kept as the exact string we stored


class UserPage(BaseModel):
    items: list[User]
    next: str | None
