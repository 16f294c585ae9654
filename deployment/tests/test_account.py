"""shopctl.account: ENV=aws refuses a local endpoint, names missing credentials or region in one line, says
which account it will use; ENV=local points boto3 at the local AWS; confirm() asks before anything is
created in an account, and without a terminal only YES=1 answers for you."""

from __future__ import annotations

import io
import os

import pytest

from shopctl import account
from shopctl.errors import ShopctlError
from shopctl.local import localaws


def _one_line(error: ShopctlError) -> None:
    assert "\n" not in error.reason and error.hint and "\n" not in error.hint


@pytest.mark.parametrize("endpoint", ["http://localhost:5000", "http://127.0.0.1:4566"])
def test_env_aws_refuses_an_endpoint_on_this_machine(aws: None, monkeypatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(ShopctlError, match=f"AWS_ENDPOINT_URL points at {endpoint}") as caught:
        account.use("aws", 5000)
    assert "unset AWS_ENDPOINT_URL" in caught.value.hint
    _one_line(caught.value)


def test_env_aws_names_the_account_and_region_it_will_use(aws: None, capsys) -> None:
    account.use("aws", 5000)
    out = capsys.readouterr().out
    assert out.startswith("AWS account 123456789012 (arn:aws:sts::123456789012:")
    assert out.rstrip().endswith(f"region {os.environ['AWS_REGION']}")


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path) -> None:
    """No credentials or region from anywhere: environment, config files, instance or container metadata."""
    for var in list(os.environ):
        if var.startswith("AWS_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_env_aws_without_credentials_says_so_in_one_line(no_aws_configuration, monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with pytest.raises(ShopctlError, match=r"^ENV=aws needs AWS credentials: ") as caught:
        account.use("aws", 5000)
    assert "ENV=local" in caught.value.hint and "AWS_PROFILE" in caught.value.hint
    _one_line(caught.value)


def test_env_aws_without_a_region_says_so_in_one_line(aws: None, monkeypatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    with pytest.raises(ShopctlError) as caught:
        account.use("aws", 5000)
    assert caught.value.reason == "ENV=aws needs a region"
    assert "AWS_REGION=" in caught.value.hint
    _one_line(caught.value)


def test_env_local_points_boto3_at_the_running_local_aws(local_aws: localaws.LocalAws, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv("AWS_PROFILE", "someones-real-account")
    account.use("local", local_aws.port)
    assert os.environ["AWS_ENDPOINT_URL"] == local_aws.endpoint
    assert "AWS_PROFILE" not in os.environ


class _Terminal(io.StringIO):
    """What a person at a terminal types."""

    def isatty(self) -> bool:
        return True


def test_confirm_lists_what_it_will_create_and_yes_answers(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, and nothing to read
    account.confirm(["a Lambda function", "two tables"], assume_yes=True)
    out = capsys.readouterr().out
    assert "in your AWS account" in out
    assert "  - a Lambda function\n  - two tables\n" in out


def test_confirm_without_a_terminal_refuses_unless_yes(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped input is not a person saying yes
    with pytest.raises(ShopctlError, match="not confirmed") as caught:
        account.confirm(["a table"], assume_yes=False)
    assert "YES=1" in caught.value.hint


@pytest.mark.parametrize("answer", ["y", "YES", " yes "])
def test_confirm_at_a_terminal_goes_on_when_told_yes(monkeypatch, answer: str) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer + "\n"))
    account.confirm(["a table"], assume_yes=False)


@pytest.mark.parametrize("answer", ["", "n", "nope", "maybe"])
def test_confirm_at_a_terminal_cancels_on_anything_else(monkeypatch, answer: str) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer + "\n"))
    with pytest.raises(ShopctlError, match="cancelled") as caught:
        account.confirm(["a table"], assume_yes=False)
    assert caught.value.hint == "nothing was changed"
