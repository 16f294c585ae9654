"""The users-service's HTTP models: what a client may send, and what it gets back.

The field rules are written once, here: pydantic enforces them (a 422 whose `loc` names the field) and
FastAPI writes them into /openapi.json, so the document and the behaviour cannot drift. The models and
error answers are the same in every stage (docs/contract.md); the orders-service has its own copy of
the shared parts (see config.py on why services copy rather than share). The same `User` model is also
what the repository returns — one shape for the wire and for storage, which is convenient and is also
coupling: change one, you change the other.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, StringConstraints

NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
PAGE_SIZE_MIN, PAGE_SIZE_MAX, DEFAULT_PAGE_SIZE = 1, 100, 20
MAX_PAGE_TOKEN_LENGTH = 1024  # far above any key we issue; bounds the work done on garbage
MAX_BODY_BYTES = 64 * 1024  # the largest request body accepted (main.py); a user is well under 1 KiB

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
PageSize = Annotated[int, Query(ge=PAGE_SIZE_MIN, le=PAGE_SIZE_MAX)]
PageToken = Annotated[str | None, Query(alias="next", max_length=MAX_PAGE_TOKEN_LENGTH)]


class UserCreate(BaseModel):
    name: Name
    email: Email


class User(BaseModel):
    id: str
    name: str
    email: str
    created_at: str  # ISO 8601 UTC with microseconds


class UserPage(BaseModel):
    items: list[User]
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


