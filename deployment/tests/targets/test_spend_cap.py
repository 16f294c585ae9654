"""A public Function URL on AWS gets a spend cap: reserved concurrency, said in the plan; AWS_IAM removes it."""

from __future__ import annotations

import boto3

from shopctl.stages import get_stage
from shopctl.targets import lambda_function, lambda_target


def _reserved(name: str) -> int | None:
    return boto3.client("lambda").get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")


def test_a_public_url_on_aws_is_capped_and_a_signed_one_is_not(aws) -> None:
    clean = get_stage("clean")
    public = lambda_target.Options(env="aws", python="3.12", auth="NONE", quiet=True)
    assert any("reserved concurrency 5" in line for line in lambda_target.plan(clean, public))
    lambda_target.deploy(clean, public)
    assert _reserved("shop-clean") == lambda_function.PUBLIC_URL_CONCURRENCY
    signed = lambda_target.Options(env="aws", python="3.12", quiet=True)
    assert not any("reserved concurrency" in line for line in lambda_target.plan(clean, signed))
    lambda_target.deploy(clean, signed)
    assert _reserved("shop-clean") is None
