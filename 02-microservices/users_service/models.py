"""The users-service's HTTP models: what a client may send, and what it gets back.

The field rules are written once, here: pydantic enforces them (a 422 whose `loc` names the field) and
FastAPI writes them into /openapi.json, so the document and the behaviour cannot drift. The models and
error answers are the same in every stage (docs/contract.md); the orders-service has its own copy of
the shared parts (see config.py on why services copy rather than share). The same `User` model is also
what the repository returns — one shape for the wire and for storage, which is convenient and is also
coupling: change one, you change the other.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from users_service import body_limit

NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
PAGE_SIZE_MIN, PAGE_SIZE_MAX, DEFAULT_PAGE_SIZE = 1, 100, 20
MAX_PAGE_TOKEN_LENGTH = 1024  # far above any key we issue; bounds the work done on garbage
MAX_BODY_BYTES = body_limit.MAX_BODY_BYTES

# The characters pydantic's strip_whitespace removes (Unicode White_Space), spelled out: JSON Schema's
# (ECMA-262's) \s and Python's str.strip() are slightly different sets, and the schema's patterns below
# must say exactly what the code does.
WHITESPACE = r"\t-\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WHITESPACE_CHARS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
EMAIL_SHAPE = re.compile(rf"[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}]+")  # local@domain.tld


def _encodable(value: str) -> str:
    # JSON may carry a lone surrogate ("\ud800"); Python accepts it, but it cannot be encoded as UTF-8,
    # so it could never be stored or sent back.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _trimmed(value: str) -> str:
    return value.strip(WHITESPACE_CHARS)


def _email_shape(value: str) -> str:
    if not EMAIL_SHAPE.fullmatch(value):
        raise ValueError("must look like local@domain.tld")
    return value


def trimmed_text(low: int, high: int) -> Any:
    """A string `low`..`high` characters long after trimming: pydantic checks it, the schema says it.

    minLength/maxLength would count the untrimmed string, so the schema gets the same rule as a pattern.
    """
    last = f"(?:[\\s\\S]{{{max(low - 2, 0)},{high - 2}}}[^{WHITESPACE}])" + ("?" if low < 2 else "")
    pattern = f"^[{WHITESPACE}]*[^{WHITESPACE}]{last}[{WHITESPACE}]*$"

    def schema(json_schema: dict[str, Any]) -> None:
        json_schema.pop("minLength", None)
        json_schema.pop("maxLength", None)
        json_schema["pattern"] = pattern

    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=low, max_length=high),
        AfterValidator(_encodable),
        Field(json_schema_extra=schema),
    ]


# The email's length is counted as sent (the schema's maxLength can say that), then it is trimmed.
Email = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX),
    AfterValidator(_trimmed),
    AfterValidator(_encodable),
    AfterValidator(_email_shape),
    Field(json_schema_extra={"pattern": f"^[{WHITESPACE}]*{EMAIL_SHAPE.pattern}[{WHITESPACE}]*$"}),
]
PageSize = Annotated[int, Query(ge=PAGE_SIZE_MIN, le=PAGE_SIZE_MAX)]
PageToken = Annotated[str | None, Query(alias="next", max_length=MAX_PAGE_TOKEN_LENGTH)]


class UserCreate(BaseModel):
    name: trimmed_text(NAME_MIN, NAME_MAX)  # type: ignore[valid-type]
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


