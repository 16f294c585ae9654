"""ECSConfigAdapter against SSM Parameter Store on the local AWS, filled by the deploy code."""

from __future__ import annotations

import uuid

import boto3
import pytest

from clean_shop.adapters.config import ECSConfigAdapter
from clean_shop.application.errors import ConfigurationError
from shopctl.aws.resources import put_parameters


@pytest.fixture
def prefix(local_aws) -> str:
    return f"/test-{uuid.uuid4().hex[:8]}"


def test_reads_parameters_under_the_prefix(prefix: str) -> None:
    put_parameters(prefix, {"users/table": "shop-x-users", "orders/table": "shop-x-orders"})
    config = ECSConfigAdapter(boto3.client("ssm"), prefix=prefix)
    assert config.get_table_name("users") == "shop-x-users"
    assert config.get("orders/table") == "shop-x-orders"


def test_each_parameter_is_fetched_once(prefix: str) -> None:
    put_parameters(prefix, {"users/table": "first"})
    config = ECSConfigAdapter(boto3.client("ssm"), prefix=prefix + "/")  # a trailing slash is fine
    assert config.get_table_name("users") == "first"
    put_parameters(prefix, {"users/table": "second"})
    assert config.get_table_name("users") == "first"  # cached for the life of the task


def test_a_missing_parameter_is_a_configuration_error_naming_it(prefix: str) -> None:
    config = ECSConfigAdapter(boto3.client("ssm"), prefix=prefix)
    with pytest.raises(ConfigurationError, match=f"{prefix}/orders/table"):
        config.get_table_name("orders")
