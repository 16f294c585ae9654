"""Schemathesis hooks for `make verify`'s fuzz (loaded through schemathesis.toml's `hooks`).

JSON Schema's `integer` is a mathematical integer, so 5.0 satisfies `"type": "integer"`; the contract's
`quantity` is a JSON integer only (5.0 is a 422, docs/contract.md). No schema can tell the two apart, so
a generated integral float is sent as the integer it stands for. The hand-written cases in fuzz.py keep
checking that 5.0, "5" and true are refused.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if isinstance(body, dict):
        return {key: _integral(value) for key, value in body.items()}
    return body


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
