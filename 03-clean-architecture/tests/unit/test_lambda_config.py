"""LambdaConfigAdapter: settings from an environment mapping (a dict here, os.environ in production)."""

from __future__ import annotations

import pytest

from clean_shop.adapters.config import LambdaConfigAdapter, env_name
from clean_shop.application.errors import ConfigurationError


def test_keys_become_upper_case_variable_names() -> None:
    assert env_name("users/table") == "USERS_TABLE"


def test_get_and_get_table_name_read_environment_variables() -> None:
    config = LambdaConfigAdapter({"USERS_TABLE": "shop-users", "ORDERS_TABLE": "shop-orders"})
    assert config.get("users/table") == "shop-users"
    assert config.get_table_name("orders") == "shop-orders"


@pytest.mark.parametrize("environ", [{}, {"USERS_TABLE": ""}])
def test_a_missing_variable_is_a_configuration_error_naming_it(environ: dict) -> None:
    with pytest.raises(ConfigurationError, match="USERS_TABLE"):
        LambdaConfigAdapter(environ).get_table_name("users")
