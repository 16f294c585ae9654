"""users-service business rules: what creating, finding, listing and deleting a user means.

Small on purpose — the field rules already ran at the edge (models.py). What lives here is what the
HTTP layer should not decide: ids and timestamps are the server's, and "not found" is a domain fact.

Note the import: this layer calls the DynamoDB repository module directly. There is no seam to hand it
another store, which is why its tests need moto — the clean-architecture stage adds that seam.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from users_service import repository
from users_service.models import User, UserCreate, UserPage


class UserNotFound(LookupError):
    pass


def create_user(data: UserCreate) -> User:
    user = User(
        id=str(uuid.uuid4()),
        name=data.name,
        email=data.email,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
    )
    repository.add(user)
    return user


def get_user(user_id: str) -> User:
    user = repository.get(user_id)
    if user is None:
        raise UserNotFound(user_id)
    return user


def list_users(limit: int, next_token: str | None = None) -> UserPage:
    users, following = repository.list(limit, next_token)
    return UserPage(items=users, next=following)


def delete_user(user_id: str) -> None:
    # Orders are another service's data: deleting a user does not touch them (docs/contract.md).
    if not repository.delete(user_id):
        raise UserNotFound(user_id)
