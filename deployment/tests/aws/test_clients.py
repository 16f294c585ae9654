"""shopctl.aws.clients: one boto3 client per service and AWS environment, a new one when boto3 is pointed
elsewhere (another endpoint, account, region, or a new default session)."""

from __future__ import annotations

import boto3
import pytest

from shopctl.aws import clients


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    clients.forget()
    yield
    clients.forget()


def test_the_same_environment_gets_the_same_client() -> None:
    assert clients.client("dynamodb") is clients.client("dynamodb")
    assert clients.client("dynamodb") is not clients.client("s3")


def test_pointing_boto3_elsewhere_gets_a_client_that_talks_there(monkeypatch: pytest.MonkeyPatch) -> None:
    before = clients.client("dynamodb")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599")
    local = clients.client("dynamodb")
    assert local is not before and local.meta.endpoint_url == "http://127.0.0.1:4599"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert clients.client("dynamodb").meta.region_name == "ap-south-1" and clients.region() == "ap-south-1"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert clients.client("dynamodb") is before  # back where it was: the kept client


def test_a_new_default_session_or_forget_makes_new_clients() -> None:
    first = clients.client("lambda")
    boto3.setup_default_session()
    second = clients.client("lambda")
    assert second is not first
    clients.forget()
    assert clients.client("lambda") is not second


def test_only_the_last_few_environments_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    first = clients.client("sts")
    for port in range(clients.KEEP + 1):
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{4600 + port}")
        clients.client("sts")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    assert clients.client("sts") is not first  # dropped: made again


def test_new_sessions_share_one_loader_of_the_sdk_s_data_in_a_fresh_process() -> None:
    import subprocess
    import sys

    probe = (
        "import botocore.session\n"
        "from shopctl.aws import clients\n"
        "before = botocore.session.Session().get_component('data_loader')\n"
        "assert botocore.session.Session().get_component('data_loader') is not before\n"
        "clients.one_sdk_loader(); clients.one_sdk_loader()\n"
        "one = botocore.session.Session().get_component('data_loader')\n"
        "assert botocore.session.Session().get_component('data_loader') is one\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)  # a fresh process: the tests' own has it already
