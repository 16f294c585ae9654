"""Users and orders, and the rules that make them valid.

The rules live here, and only here: the HTTP layer checks *types* (is `quantity` a JSON integer?),
the domain checks *meaning* (is it between 1 and 1000?). Whatever entrypoint or database we use, a
`User` that exists has a valid name and email.

Identity and time are passed in (`id=`, `created_at=`) instead of calling uuid4()/now() here, so the
rules stay deterministic and tests can choose them; the use cases decide where they come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from clean_shop.domain.errors import InvalidField

NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321)
PRODUCT_MIN, PRODUCT_MAX = 1, 200
QUANTITY_MIN, QUANTITY_MAX = 1, 1000

# local@domain.tld with no whitespace: one "@", a dot after it. Deliberately simple. \s alone is not
# the same set in every regex engine (JSON Schema's ECMA-262 in the OpenAPI document, Rust's in
# pydantic, Python's re here), so the few characters they disagree on are named too.
NOT_SPACE = r"[^@\s\x1c-\x1f\x85\ufeff]"
EMAIL_PATTERN = rf"^{NOT_SPACE}+@{NOT_SPACE}+\.{NOT_SPACE}+$"


def _text(field: str, value: object, minimum: int, maximum: int) -> str:
    """`value` if it is text of an allowed length, counted as sent (nothing is trimmed)."""
    if not isinstance(value, str):
        raise InvalidField(field, "must be a string")
    try:
        # A JSON string may carry a lone surrogate ("\ud800"): Python accepts it, but it is not text
        # and could never be stored or sent back as UTF-8.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidField(field, "must be valid Unicode text") from None
    if not minimum <= len(value) <= maximum:
        raise InvalidField(field, f"must be {minimum} to {maximum} characters long")
    return value


class OrderStatus(StrEnum):
    PENDING = "pending"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str
    created_at: datetime

    @classmethod
    def register(cls, name: object, email: object, *, id: str, created_at: datetime) -> User:
        """A new user, or InvalidField naming the first field that breaks a rule."""
        name = _text("name", name, NAME_MIN, NAME_MAX)
        email = _text("email", email, 1, EMAIL_MAX)
        if not re.fullmatch(EMAIL_PATTERN, email):
            raise InvalidField("email", "must look like local@domain.tld")
        return cls(id=id, name=name, email=email, created_at=created_at)


@dataclass(frozen=True)
class Order:
    id: str
    user_id: str
    product: str
    quantity: int
    status: OrderStatus
    created_at: datetime

    @classmethod
    def place(
        cls, user_id: str, product: object, quantity: object, *, id: str, created_at: datetime
    ) -> Order:
        """A new pending order, or InvalidField.

        "An order belongs to an existing user" is a rule too, but checking it needs the users'
        storage, so CreateOrderUseCase enforces it through the UserRepository port.
        """
        product = _text("product", product, PRODUCT_MIN, PRODUCT_MAX)
        # bool is a subclass of int in Python (True == 1); an order for `true` items is not an order.
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidField("quantity", "must be an integer")
        if not QUANTITY_MIN <= quantity <= QUANTITY_MAX:
            raise InvalidField("quantity", f"must be between {QUANTITY_MIN} and {QUANTITY_MAX}")
        return cls(
            id=id,
            user_id=user_id,
            product=product,
            quantity=quantity,
            status=OrderStatus.PENDING,
            created_at=created_at,
        )
