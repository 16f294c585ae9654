"""`private_local_aws`: the one way tests, compare, verify, exercise checks and notebooks get an AWS of their own."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from shopctl.local import localaws


def test_a_private_local_aws_serves_the_block_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # the session made inside is dropped after the test
    monkeypatch.setenv("AWS_PROFILE", "someones-real-account")
    monkeypatch.setenv("SHOP_RUN_DIR", str(tmp_path / "outer"))
    before = dict(os.environ)

    with localaws.private_local_aws(tmp_path / "inner") as aws:
        assert os.environ["SHOP_RUN_DIR"] == str(tmp_path / "inner")
        assert os.environ["AWS_ENDPOINT_URL"] == aws.endpoint
        assert "AWS_PROFILE" not in os.environ  # never a real account by accident
        boto3.client("ssm").put_parameter(Name="/shop/private", Value="x", Type="String")  # reaches this server
        assert localaws.is_up(aws.port)
        os.environ["ADDED_INSIDE"] = "1"

    assert not localaws.is_up(aws.port)
    assert dict(os.environ) == before


def test_the_environment_is_restored_when_the_block_fails(tmp_path: Path) -> None:
    before = dict(os.environ)
    with pytest.raises(RuntimeError), localaws.private_local_aws(tmp_path) as aws:
        raise RuntimeError("a failing test")
    assert not localaws.is_up(aws.port)
    assert dict(os.environ) == before
