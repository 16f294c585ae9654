"""Opaque page tokens: base64url(JSON(the key of the last item on the page)).

The token travels through clients and comes back in `?next=`, so it is untrusted input: decode()
accepts only a well-formed key with exactly the expected fields, and reports anything else as
InvalidPageToken (a 422), never as a crash deep inside a database call.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping

from clean_shop.application.errors import InvalidPageToken
from clean_shop.application.ports import MAX_PAGE_TOKEN_LENGTH


def encode(key: Mapping[str, str]) -> str:
    raw = json.dumps(dict(key), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, fields: Collection[str]) -> dict[str, str]:
    """The key inside `token`, which must have exactly `fields`, each a non-empty string."""
    if not isinstance(token, str) or not token or len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise InvalidPageToken()
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        key = json.loads(raw)
    except (ValueError, RecursionError):  # bad base64, bad UTF-8, bad JSON, absurd nesting
        raise InvalidPageToken() from None
    if not isinstance(key, dict) or set(key) != set(fields):
        raise InvalidPageToken()
    for value in key.values():
        if not isinstance(value, str) or not value:
            raise InvalidPageToken()
        try:
            value.encode("utf-8")  # JSON can smuggle in lone surrogates that no database accepts
        except UnicodeEncodeError:
            raise InvalidPageToken() from None
    return key
