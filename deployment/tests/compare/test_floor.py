"""`make compare ENV=aws`: the Lambda cold starts in a real account — deployed by the same code as
`make deploy ENV=aws`, asked for first, scoped like the stages, and deleted again. Checked against an
in-process moto account (no function runs there, so no cold start is measured here)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from shopctl.aws.resources import TableNames
from shopctl.compare import floor as floor_module
from shopctl.targets.lambda_function import LOG_RETENTION_DAYS, MEMORY_MB, Options

AWS_OPTIONS = Options(env="aws", python="3.12", quiet=True)


def role_statements(role: str) -> list[dict]:
    iam = boto3.client("iam")
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    return (json.loads(document) if isinstance(document, str) else document)["Statement"]


def logs_arn(function: str) -> str:
    account = boto3.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:logs:{boto3.session.Session().region_name}:{account}:log-group:/aws/lambda/{function}:*"


def test_the_floor_is_a_function_like_the_stages_and_is_deleted_after(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[tuple[str, str]] = []
    # The untimed GET /health before measuring: moto serves no Function URL, so record what would be called.
    monkeypatch.setattr(floor_module, "health", lambda url, auth, function, **_: checked.append((url, auth)))
    floor = floor_module.FloorLambda(AWS_OPTIONS.platform(), tmp_path, AWS_OPTIONS)
    subject = floor.deploy("plain")

    config = boto3.client("lambda").get_function_configuration(FunctionName=floor_module.FLOOR_FUNCTION)
    assert (config["Handler"], config["Runtime"], config["MemorySize"]) == (
        floor_module.FLOOR_HANDLER,
        "python3.12",
        MEMORY_MB,
    )
    tables = TableNames.for_deployment("floor-lambda")
    assert config["Environment"]["Variables"] == {"USERS_TABLE": tables.users}
    url = boto3.client("lambda").get_function_url_config(FunctionName=floor_module.FLOOR_FUNCTION)
    assert url["AuthType"] == "AWS_IAM"  # never a public URL for a measurement
    assert subject.auth == "AWS_IAM" and subject.url == url["FunctionUrl"].rstrip("/")
    assert checked == [(subject.url, "AWS_IAM")]

    statements = role_statements(f"{floor_module.FLOOR_FUNCTION}-role")
    table = next(s for s in statements if s["Sid"] == "UsersTable")
    assert table["Action"] == ["dynamodb:Scan"] and table["Resource"][0].endswith(f":table/{tables.users}")
    assert {s["Sid"] for s in statements} == {"UsersTable", "OwnLogGroup"}
    logs_statement = next(s for s in statements if s["Sid"] == "OwnLogGroup")
    assert logs_statement["Resource"] == [logs_arn(floor_module.FLOOR_FUNCTION)]  # its streams, nothing else
    group = f"/aws/lambda/{floor_module.FLOOR_FUNCTION}"
    [logs] = boto3.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert logs["retentionInDays"] == LOG_RETENTION_DAYS

    removed = floor.stop()
    assert f"function {floor_module.FLOOR_FUNCTION}" in removed
    assert f"table {tables.users}" in removed
    assert not boto3.client("lambda").list_functions()["Functions"]
    assert not boto3.client("iam").list_roles()["Roles"]
    assert not boto3.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert tables.users not in boto3.client("dynamodb").list_tables()["TableNames"]


def test_the_snapstart_floor_on_aws_is_served_through_its_alias_and_deleted_after(
    aws: None, aws_calls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(floor_module, "health", lambda url, auth, function, **_: None)  # moto runs no function
    floor = floor_module.FloorLambda(AWS_OPTIONS.platform(), tmp_path, AWS_OPTIONS)
    floor.deploy("snapstart")
    [created] = aws_calls.params("lambda", "CreateFunction")
    assert created["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert aws_calls.params("lambda", "PublishVersion") and aws_calls.params("lambda", "CreateAlias")
    [url] = aws_calls.params("lambda", "CreateFunctionUrlConfig")
    assert url["Qualifier"] == "live" and url["AuthType"] == "AWS_IAM"
    removed = floor.stop()
    assert f"alias {floor_module.FLOOR_FUNCTION}:live" in removed
    assert f"function {floor_module.FLOOR_FUNCTION}" in removed
    assert not boto3.client("lambda").list_functions()["Functions"]
