"""Least privilege and hardening, reduced: the scanners (hadolint, checkov — installed into build/tools
on first use) on the repository, the IAM/hardening/secrets check on the clean stage deployed to the local
Lambda, and proof that the IAM and secrets checks do fail on what they exist to catch."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from shopctl.targets import lambda_target
from shopctl.verify import policy, tools
from shopctl.verify.result import Result


@pytest.fixture(scope="module")
def checkov_ready(request: pytest.FixtureRequest) -> None:
    """Install checkov once (its own virtualenv); the progress line shows even under pytest's capture."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        tools.checkov()


@pytest.mark.e2e
def test_dockerfiles_and_manifests_pass_hadolint_and_checkov_with_every_finding_justified(checkov_ready) -> None:
    lint, scan, context = policy.run("-", "-", reduced=True)
    assert lint.ok and lint.tried == 2, lint.failures
    assert context.ok and context.tried > 20, context.failures  # the three stages' code files
    assert scan.ok, scan.failures
    assert scan.tried > 100  # checks really ran
    assert scan.figures["justified"] == scan.figures["findings"] == len(scan.failures) + scan.figures["justified"]


def test_security_md_justifies_each_accepted_finding() -> None:
    accepted = policy.accepted_findings()
    assert accepted, "deployment/SECURITY.md has no 'Accepted findings' table"
    for check_id, where, why in accepted:
        assert where and len(why) > 40, f"{check_id} on {where}: say why it stays"


@pytest.mark.e2e
def test_clean_stage_on_lambda_is_least_privilege_hardened_and_secret_free(local_aws) -> None:
    (result,) = policy.run("clean", "lambda", reduced=True)
    assert result.ok, result.failures
    assert result.figures["roles"] == 1 and result.figures["statements"] >= 3
    assert result.figures["files_scanned"] > 100  # the whole package as stored in the local AWS


def test_check_role_fails_on_wildcards_extra_grants_and_a_foreign_principal(local_aws) -> None:
    client = boto3.client("iam")
    name = f"policy-test-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    statements = [
        {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket/key"]},
    ]
    client.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy_doc(statements)))
    result = Result("policy", "clean", "lambda")
    policy.check_role(result, name, principal={"Service": "lambda.amazonaws.com"}, dynamodb=set())
    text = "\n".join(result.failures)
    for expected in ("trusted by", "wildcard action dynamodb:*", "on wildcard resource *", "DynamoDB grants differ",
                     "outside its job: ['s3:GetObject']"):  # fmt: skip
        assert expected in text


def policy_doc(statements):
    return {"Version": "2012-10-17", "Statement": statements}


def test_log_stream_suffix_of_one_group_is_not_a_wildcard() -> None:
    assert not policy.is_wildcard("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/shop-clean:*")
    assert policy.is_wildcard("arn:aws:logs:us-east-1:123456789012:log-group:*")
    assert policy.is_wildcard("arn:aws:dynamodb:us-east-1:123456789012:table/*")


def test_secret_and_credential_detection() -> None:
    assert policy.secrets_in(b"key = 'AKIA" + b"Q" * 16 + b"'")
    assert not policy.secrets_in(b"docs say AKIAIOSFODNN7EXAMPLE")
    assert policy.secrets_in(b"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAx7Jk2w0F9aQzYlR3mN8vT5uP1sK4")
    assert not policy.secrets_in(b"-----BEGIN DSA PRIVATE KEY-----<a very long private key string>")
    assert policy.credentials_in('{"AWS_SECRET_ACCESS_KEY": "x"}', ["", "", ""]) == ["AWS_SECRET_ACCESS_KEY"]
    assert policy.credentials_in("logged token=s3cr3t-value", ["", "", "s3cr3t-value"]) == [
        "the value of AWS_SESSION_TOKEN"
    ]
    assert policy.credentials_in("nothing here", ["testing", "testing", "testing"]) == []


def test_function_urls_on_aws_are_iam_authenticated_unless_made_public_with_a_warning() -> None:
    assert lambda_target.Options(env="aws").auth_type == "AWS_IAM"
    assert lambda_target.warnings(lambda_target.Options(env="aws")) == []
    assert "PUBLIC" in " ".join(lambda_target.warnings(lambda_target.Options(env="aws", auth="NONE")))
