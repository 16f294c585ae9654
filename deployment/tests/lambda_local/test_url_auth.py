"""A Function URL with AWS_IAM auth, locally as on AWS: an unsigned request is refused with 403 and AWS's body
before the function runs; a SigV4 signature of the right shape (service lambda, host and x-amz-date signed)
gets through. A URL switched between auth types on a running service follows the switch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shopctl.lambda_local import function, testing
from shopctl.lambda_local.events import HttpRequest
from shopctl.lambda_local.service import LambdaService, signed
from shopctl.targets import lambda_function

APP = """
import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"ran": True})}
"""


def signature(service: str = "lambda", url: str = "https://abc.lambda-url.eu-west-1.on.aws/users") -> dict[str, str]:
    request = AWSRequest("GET", url, {"host": url.split("/")[2]})
    SigV4Auth(Credentials("AKID", "secret", "token"), service, "eu-west-1").add_auth(request)
    return dict(request.headers)


def test_a_botocore_signature_has_the_shape():
    assert signed(list(signature().items()))


@pytest.mark.parametrize(
    "spoil",
    [
        lambda h: {k: v for k, v in h.items() if k != "Authorization"},  # unsigned
        lambda h: {k: v for k, v in h.items() if k != "X-Amz-Date"},  # no date
        lambda h: {**h, "Authorization": h["Authorization"].replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1")},
        lambda h: {**h, "Authorization": h["Authorization"].replace("host;", "")},  # host not signed
        lambda h: {**h, "Authorization": h["Authorization"][:-8]},  # a signature too short
        lambda h: {**h, "Authorization": "Bearer abc"},
    ],
    ids=["unsigned", "no-date", "algorithm", "host-not-signed", "short-signature", "bearer"],
)
def test_anything_else_has_not(spoil):
    assert not signed(list(spoil(signature()).items()))


def test_signed_for_another_service_has_not():
    assert not signed(list(signature("execute-api").items()))


@pytest.fixture
def service(aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaService]:
    monkeypatch.setattr(function, "REFRESH_SECONDS", 0.0)  # see every change at once, not within a second
    testing.deploy("authed", testing.build_zip({"app.py": APP}))
    boto3.client("lambda").create_function_url_config(FunctionName="authed", AuthType="AWS_IAM")
    made = LambdaService("authed", work_dir=tmp_path / "work", max_concurrency=1, idle_timeout=60)
    made.load()
    yield made
    made.close()


def get(service: LambdaService, headers: dict[str, str]) -> tuple[int, dict]:
    request = HttpRequest("GET", "/users", "", [("host", "localhost"), *headers.items()])
    response = service.handle(request)
    return response.status, json.loads(response.body or b"null")


def test_an_aws_iam_url_refuses_unsigned_requests_before_the_function_runs(service: LambdaService):
    assert get(service, {}) == (403, {"Message": "Forbidden"})
    assert service.status()["environments"] == []  # no environment was started for it
    assert get(service, signature()) == (200, {"ran": True})


def test_switching_the_url_to_none_and_back_is_followed(service: LambdaService):
    # as a re-deploy with another AUTH does it: NONE adds the two public permissions, AWS_IAM removes them
    lambda_function._ensure_function_url("authed", "NONE")
    assert get(service, {})[0] == 200
    lambda_function._ensure_function_url("authed", "AWS_IAM")
    assert get(service, {})[0] == 403
