"""The one registry of deployment targets, and the protocol each target module provides."""

from __future__ import annotations

import inspect

import pytest

from shopctl.errors import ShopctlError
from shopctl.targets.base import TARGETS, Target, get_target


def test_the_registry_holds_the_three_targets_under_their_own_names() -> None:
    assert list(TARGETS) == ["lambda", "ecs", "eks"]
    assert all(name == module.TARGET for name, module in TARGETS.items())


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_target_provides_the_protocol(name: str) -> None:
    module = TARGETS[name]
    assert isinstance(module, Target)
    destroy = inspect.signature(module.destroy)
    assert list(destroy.parameters)[:2] == ["stage_name", "options"]
    assert destroy.parameters["keep_data"].kind is inspect.Parameter.KEYWORD_ONLY
    options = module.Options()
    assert (options.env, options.port, options.quiet, options.tables) == ("local", None, False, None)
    assert module.deployment_name("clean") == f"clean-{name}"


def test_an_unknown_target_is_one_line_with_the_choices() -> None:
    with pytest.raises(ShopctlError) as error:
        get_target("fargate")
    assert error.value.hint == "TARGET is one of: lambda, ecs, eks"
