"""EKSConfigAdapter with a real file, written the way the deploy code writes the ConfigMap."""

from __future__ import annotations

from pathlib import Path

import pytest

from clean_shop.adapters.config import EKSConfigAdapter
from clean_shop.application.errors import ConfigurationError
from shopctl.aws.resources import write_config_file


def test_reads_nested_keys_from_the_mounted_file(tmp_path: Path) -> None:
    path = write_config_file(tmp_path / "config.json", {"users/table": "u-t", "orders/table": "o-t"})
    config = EKSConfigAdapter(path)
    assert (config.get_table_name("users"), config.get("orders/table")) == ("u-t", "o-t")


def test_a_missing_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        EKSConfigAdapter(tmp_path / "absent.json").get("users/table")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"users": {"table": "u-t"}}', "'orders/table' not found"),
        ('{"orders": "flat"}', "'orders/table' not found"),
        ('{"orders": {"table": 42}}', "non-empty string"),
        ("not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_a_missing_or_malformed_value_is_a_configuration_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigurationError, match=message):
        EKSConfigAdapter(path).get_table_name("orders")
