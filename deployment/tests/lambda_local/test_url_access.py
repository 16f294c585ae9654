"""A public Function URL answers 403 unless the function's resource policy allows everyone both
lambda:InvokeFunctionUrl and lambda:InvokeFunction (Lambda, since October 2025), as the local Lambda
serves it — and the deploy code's public URL (targets.lambda_function) gets both."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shopctl.lambda_local import function, testing
from shopctl.lambda_local.events import HttpRequest
from shopctl.lambda_local.service import LambdaService
from shopctl.lambda_local.url_access import missing_public_permissions
from shopctl.targets import lambda_function

APP = """
def handler(event, context):
    return {"statusCode": 200, "body": "served"}
"""


@pytest.fixture
def service(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaService]:
    monkeypatch.setattr(function, "REFRESH_SECONDS", 0.0)  # see every policy change at once
    testing.deploy("public", testing.build_zip({"app.py": APP}))
    made = LambdaService("public", work_dir=tmp_path / "work", max_concurrency=1, idle_timeout=60)
    yield made
    made.close()


def get(service: LambdaService) -> tuple[int, bytes]:
    response = service.handle(HttpRequest("GET", "/", "", [("host", "localhost")]))
    return response.status, response.body


def until(service: LambdaService, status: int, seconds: float = 10.0) -> tuple[int, bytes]:
    """The first answer with `status`: a changed policy is read on a thread of its own, soon after."""
    deadline = time.monotonic() + seconds
    while (answer := get(service))[0] != status and time.monotonic() < deadline:
        time.sleep(0.02)
    return answer


def test_the_deploy_codes_public_url_is_served_and_without_either_permission_forbidden(
    service: LambdaService,
) -> None:
    lambda_function._ensure_function_url("public", "NONE")
    assert get(service) == (200, b"served")
    client = boto3.client("lambda")
    statements = json.loads(client.get_policy(FunctionName="public")["Policy"])["Statement"]
    for statement in statements:  # each of the two taken away in turn
        client.remove_permission(FunctionName="public", StatementId=statement["Sid"])
        status, body = until(service, 403)
        assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
        lambda_function._ensure_function_url("public", "NONE")  # deploy again puts it back
        assert until(service, 200) == (200, b"served")


def test_a_function_without_a_url_or_with_a_signed_one_is_not_checked_here(service: LambdaService) -> None:
    assert get(service)[0] == 200  # no Function URL: the local service stands in for one
    boto3.client("lambda").create_function_url_config(FunctionName="public", AuthType="AWS_IAM")
    url = "https://abc.lambda-url.eu-west-1.on.aws/"
    request = AWSRequest("GET", url, {"host": "abc.lambda-url.eu-west-1.on.aws"})
    SigV4Auth(Credentials("AKID", "secret", "token"), "lambda", "eu-west-1").add_auth(request)
    signed = HttpRequest("GET", "/", "", [("host", "localhost"), *request.headers.items()])
    for _ in range(20):  # no public permission in the policy, and a signed request is still let through
        assert service.handle(signed).status == 200
        time.sleep(0.01)


def test_a_public_url_without_the_permissions_is_refused_from_the_first_request(service: LambdaService) -> None:
    boto3.client("lambda").create_function_url_config(FunctionName="public", AuthType="NONE")
    assert get(service)[0] == 403


@pytest.mark.parametrize(
    ("statements", "missing"),
    [
        ([], ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]),
        ([{"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl"}], ["lambda:InvokeFunction"]),
        (
            [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "lambda:InvokeFunctionUrl"},
                {"Effect": "Allow", "Principal": "*", "Action": ["lambda:InvokeFunction"]},
            ],
            [],
        ),
        (  # allowed to one account only, or denied: not public
            [
                {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "lambda:InvokeFunctionUrl"},
                {"Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction"},
            ],
            ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"],
        ),
        ([{"Effect": "Allow", "Principal": "*", "Action": "lambda:*"}], []),
    ],
    ids=["none", "url-only", "both", "not-public", "wildcard"],
)
def test_missing_public_permissions(statements: list[dict], missing: list[str]) -> None:
    assert missing_public_permissions({"Statement": statements}) == missing
