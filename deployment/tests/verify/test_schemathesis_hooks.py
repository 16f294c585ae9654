"""shopctl.verify.schemathesis_hooks: a generated body's integral floats go out as the integers they stand
for (JSON Schema's `integer` lets 5.0 through; the contract's quantity does not), everything else as it
was generated — and `make verify`'s schemathesis.toml loads this hook."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest
import schemathesis.hooks

from shopctl.verify import schemathesis_hooks
from shopctl.verify.schemathesis_hooks import map_body


def test_an_integral_float_is_sent_as_an_integer() -> None:
    mapped = map_body(None, {"user_id": "u1", "product": "Mug", "quantity": 5.0})
    assert mapped == {"user_id": "u1", "product": "Mug", "quantity": 5}
    assert type(mapped["quantity"]) is int
    assert type(map_body(None, {"quantity": -0.0})["quantity"]) is int


@pytest.mark.parametrize(
    "value",
    [5, 2.5, -1e-9, "5", "5.0", True, False, None, [5.0], {"n": 5.0}, float("inf"), float("nan")],
    ids=repr,
)
def test_anything_else_is_sent_as_generated(value) -> None:
    mapped = map_body(None, {"quantity": value})["quantity"]
    assert type(mapped) is type(value)
    assert mapped is value or mapped == value


@pytest.mark.parametrize("body", [[5.0, 1.0], 5.0, "text", None, b"bytes"], ids=repr)
def test_a_body_that_is_not_an_object_is_left_alone(body) -> None:
    assert map_body(None, body) is body


def test_schemathesis_toml_loads_this_module_and_it_registers_map_body() -> None:
    toml = Path(schemathesis_hooks.__file__).with_name("schemathesis.toml")
    module = importlib.import_module(tomllib.loads(toml.read_text())["hooks"])
    assert module is schemathesis_hooks
    assert map_body in schemathesis.hooks.GLOBAL_HOOK_DISPATCHER.get_all_by_name("map_body")
