"""`make doctor`: one line per check with a hint for each failure, locally and against an account (in-process moto
here); `make deploy ENV=aws` runs its target's checks first and creates nothing when one fails."""

from __future__ import annotations

import socket

import pytest

from shopctl import cli, doctor
from shopctl.aws import census
from shopctl.local.net import free_port


def test_locally_every_check_passes_on_a_machine_that_can_run_the_workshop() -> None:
    checks = doctor.run("local", aws_port=free_port())
    assert [c.name for c in checks] == ["python", "workshop packages", "ports", "local AWS", "disk"]
    assert all(c.ok for c in checks if c.name != "ports"), [c.line() for c in checks]
    assert doctor.report([c for c in checks if c.name != "ports"])


def test_a_port_held_by_something_else_fails_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        checks = {c.name: c for c in doctor.run("local", aws_port=port)}
    assert not checks["local AWS"].ok and "LOCAL_AWS_PORT" in checks["local AWS"].hint
    assert not checks["ports"].ok and checks["ports"].warning and str(port) in checks["ports"].detail
    assert not doctor.report(list(checks.values()))
    out = capsys.readouterr().out
    assert f"✗ local AWS              port {port} is taken by something else\n    hint: LOCAL_AWS_PORT" in out
    assert "✗ 1 check(s) failed: local AWS" in out


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A PATH with Python but without kubectl, the AWS CLI or docker."""
    monkeypatch.setenv("PATH", str(tmp_path))


def test_on_an_account_each_check_says_which_targets_need_it(aws, no_tools) -> None:
    checks = {c.name: c for c in doctor.run("aws", aws_port=0)}
    assert checks["credentials"].ok and "123456789012" in checks["credentials"].detail
    assert checks["region"].ok and checks["region"].detail == "eu-west-1"
    assert checks["default VPC"].ok and "Availability Zones" in checks["default VPC"].detail
    for tool in ("kubectl", "aws CLI"):
        assert checks[tool].blocks and checks[tool].needed_by == {"eks"} and checks[tool].hint
    assert not checks["docker"].ok and checks["docker"].warning  # ECR may hold the image already
    assert checks["ECS service role"].needed_by == {"ecs"}
    assert "(TARGET=eks)" in checks["kubectl"].line()
    # one target's deploy asks only what it needs: Lambda needs neither kubectl nor the AWS CLI
    lambda_checks = doctor.run("aws", aws_port=0, target="lambda")
    assert {c.name for c in lambda_checks} >= {"credentials", "region", "Lambda concurrency", "docker"}
    assert not {"kubectl", "aws CLI", "default VPC", "Fargate vCPU"} & {c.name for c in lambda_checks}
    assert not [c for c in lambda_checks if c.blocks], [c.line() for c in lambda_checks]


def test_an_aws_deploy_stops_at_a_failed_check_before_anything_is_created(aws, no_tools, capsys) -> None:
    argv = ["deploy", "--stage", "clean", "--target", "eks", "--env", "aws", "--yes"]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "✗ kubectl" in captured.out
    assert captured.err.strip().splitlines()[0] == "error: not ready to deploy to eks (kubectl, aws CLI)"
    assert census.census() == []


def test_doctor_on_aws_without_credentials_is_one_line_about_credentials(no_credentials, capsys) -> None:
    assert cli.main(["doctor", "--env", "aws"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: ENV=aws needs AWS credentials") and len(err) == 2
