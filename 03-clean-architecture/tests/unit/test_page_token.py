"""The opaque `next` token: what goes in comes out, anything else is InvalidPageToken."""

from __future__ import annotations

import pytest

from clean_shop.adapters import page_token
from clean_shop.application.errors import InvalidPageToken


def test_a_token_round_trips_and_is_url_safe() -> None:
    key = {"id": "00000000-0000-4000-8000-000000000001", "created_at": "2026-11-23T09:00:00.000000+00:00"}
    token = page_token.encode(key)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert page_token.decode(token, ("id", "created_at")) == key


@pytest.mark.parametrize(
    "token",
    [
        "",
        "%%%",
        "ünïcode",
        "W10",  # []
        page_token.encode({"id": "x"}) + "!",
        page_token.encode({"other": "x"}),
        "eyJpZCI6Ilx1ZDgwMCJ9",  # {"id":"\ud800"}
        "WyJb" + "Wy" * 600,  # deeply nested JSON
    ],
)
def test_anything_else_is_an_invalid_page_token(token: str) -> None:
    with pytest.raises(InvalidPageToken):
        page_token.decode(token, ("id",))
