"""Errors the domain raises when a rule is broken."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule was broken."""


class InvalidField(DomainError):
    """A value does not satisfy the rules for `field` (e.g. an email without a domain).

    The domain only says *which* field and *why*; turning that into an HTTP 422 is the entrypoint's job.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
