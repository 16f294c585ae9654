"""shopctl.verify.env: the checks find the local AWS where boto3 is pointed, and refuse anything else."""

from __future__ import annotations

import pytest

from shopctl.errors import ShopctlError
from shopctl.verify.env import current_aws


def test_the_local_aws_is_the_one_boto3_points_at(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    aws = current_aws()
    assert (aws.port, aws.pid) == (4599, None)
    assert aws.endpoint == "http://127.0.0.1:4599"


@pytest.mark.parametrize(
    "endpoint",
    [
        None,  # real AWS, by default
        "",
        "https://dynamodb.eu-west-1.amazonaws.com",  # an account
        "http://localhost:4599",  # not the address the local AWS is started on
        "https://127.0.0.1:4599",
        "http://127.0.0.1:",
        "http://127.0.0.10:4599",
        "http://10.0.0.5:4599",
    ],
)
def test_anything_but_a_local_aws_is_refused_in_one_line(monkeypatch, endpoint: str | None) -> None:
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(ShopctlError, match="local AWS only") as caught:
        current_aws()
    assert "make verify" in caught.value.hint
    assert "\n" not in caught.value.reason
