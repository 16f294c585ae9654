"""Fixtures for the clean stage's tests. The root conftest.py adds `local_aws` and `tables`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

START = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def clock() -> Callable[[], datetime]:
    """A clock that moves one second forward each time it is read: ordering is predictable."""
    ticks = itertools.count()
    return lambda: START + timedelta(seconds=next(ticks))


@pytest.fixture
def ids() -> Callable[[], str]:
    """Readable, predictable ids (the real ones are uuid4 strings)."""
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"
