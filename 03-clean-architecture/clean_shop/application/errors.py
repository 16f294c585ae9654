"""Errors a use case can report. Entrypoints translate them (e.g. to HTTP 404/422)."""

from __future__ import annotations


class ApplicationError(Exception):
    """Something the caller asked for cannot be done."""


class UserNotFound(ApplicationError):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"user {user_id} not found")
        self.user_id = user_id


class OrderNotFound(ApplicationError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = order_id


class InvalidPageToken(ApplicationError):
    """A `next` token that no repository handed out (tampered, truncated, or from another list)."""

    def __init__(self, reason: str = "is not a valid page token") -> None:
        super().__init__(reason)
        self.reason = reason


class StorageUnavailable(ApplicationError):
    """The storage cannot answer right now (unreachable, timed out, throttled); nothing was changed.

    Adapters translate their own failures (botocore's, sqlite3's…) into this one, so the entrypoints map
    a single application error to "try again later" (HTTP 503 + Retry-After) without knowing the database.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigurationError(ApplicationError):
    """A setting the app needs is missing or invalid. Raised at startup, so a bad deployment fails fast."""
