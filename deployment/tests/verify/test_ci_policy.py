"""The weekly run's role (deployment/aws-ci-role.yaml) allows exactly what the deploy code calls.

One recording per module (shopctl.verify.ci_policy.record: what .github/workflows/aws.yml runs, through the
ENV=aws code path against an in-process moto account, about a minute of CPU): the template must allow every
action it needs and none it does not, and be exactly what `make ci-policy` writes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shopctl.aws import census
from shopctl.verify import ci_policy

Calls = list[tuple[str, str, dict[str, Any]]]


@pytest.fixture(scope="module")
def recorded() -> Calls:
    return ci_policy.record()


def test_the_role_allows_every_action_the_weekly_run_needs_and_no_other(recorded: Calls) -> None:
    needed = ci_policy.actions_for(recorded)
    granted = ci_policy.allowed(ci_policy.template_statements())
    assert sorted(needed - granted) == [], "the deploy code calls actions the role does not allow: make ci-policy"
    assert sorted(granted - needed) == [], "the role allows actions nothing calls: make ci-policy"


def test_the_template_holds_the_generated_policy(recorded: Calls) -> None:
    generated = ci_policy.statements(ci_policy.actions_for(recorded))
    assert ci_policy.template_statements() == ci_policy.as_template(generated), "run make ci-policy"


def test_the_recording_reaches_every_service_the_deploy_code_creates_something_in(recorded: Calls) -> None:
    prefixes = {ci_policy.iam_action(service, operation).split(":")[0] for service, operation, _ in recorded}
    wanted = {ci_policy.IAM_PREFIX.get(s, s) for s in census.LISTERS} | {"sts", "servicequotas"}
    wanted = {"elasticloadbalancing" if p == "elbv2" else p for p in wanted}
    assert wanted - prefixes == set()
    operations = {(s, o) for s, o, _ in recorded}
    for step in [("ecr", "PutImage"), ("lambda", "PublishVersion"), ("lambda", "InvokeFunctionUrl"),
                 ("elastic-load-balancing-v2", "DeleteLoadBalancer"), ("eks", "DescribeCluster"),
                 ("sts", "GetCallerIdentity")]:  # fmt: skip
        assert step in operations, f"the recording skipped {step}"
    assert sorted(ci_policy.ANY_RESOURCE - ci_policy.actions_for(recorded)) == [], "ANY_RESOURCE lists unused actions"


def _only_the_projects(params: dict[str, Any]) -> bool:
    """Does a call name something of the project, and nothing of what the recording put beside it?"""
    text = json.dumps(params, default=lambda v: "" if isinstance(v, bytes) else str(v))  # not the packages
    ours = "shop" in text or ci_policy.PROJECT_TAG[1] in text
    return ours and "someone" not in text and ":cluster/default" not in text


def test_an_action_called_on_what_is_not_the_projects_is_allowed_on_any_resource(recorded: Calls) -> None:
    """A call that names nothing of the project, or something not the project's (a listing; the census
    reading every role's tags, every cluster) cannot be scoped to `shop-…`: it must be in ANY_RESOURCE — or
    in a service scoped otherwise (by tag; EC2's security groups by account and region)."""
    unscoped = {
        ci_policy.iam_action(service, operation)
        for service, operation, params in recorded
        if not _only_the_projects(params)
    }
    elsewhere = {a for a in unscoped if a.split(":")[0] in ci_policy.NOT_BY_NAME}
    assert sorted(unscoped - ci_policy.ANY_RESOURCE - elsewhere) == []


def test_the_actions_aws_checks_beside_a_call_are_added() -> None:
    calls: Calls = [
        ("elastic-load-balancing-v2", "CreateLoadBalancer", {"Name": "shop-x", "Tags": [{"Key": "project"}]}),
        ("cloudwatch-logs", "CreateLogGroup", {"logGroupName": "/ecs/shop-x"}),
        ("lambda", "CreateFunction", {"FunctionName": "shop-x", "Role": "arn:aws:iam::1:role/shop-x"}),
        ("iam", "CreateRole", {"RoleName": "shop-x", "Tags": [{"Key": "project"}]}),
        ("ecr", "PutImage", {"repositoryName": "shop-x"}),
        ("s3", "ListObjectsV2", {"Bucket": "shop-x"}),
    ]
    actions = ci_policy.actions_for(calls)
    assert {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:AddTags", "logs:CreateLogGroup",
            "lambda:CreateFunction", "iam:PassRole", "iam:CreateRole", "iam:TagRole", "ecr:PutImage",
            "ecr:InitiateLayerUpload", "s3:ListBucket"} <= actions  # fmt: skip
    assert "lambda:TagResource" not in actions and "logs:TagResource" not in actions  # no tags were sent


def test_a_call_the_role_does_not_allow_is_named(recorded: Calls) -> None:
    granted = ci_policy.allowed(ci_policy.template_statements())
    more = [*recorded, ("lambda", "PutFunctionConcurrency", {"FunctionName": "shop-clean"})]
    assert ci_policy.actions_for(more) - granted == {"lambda:PutFunctionConcurrency"}


def test_resources_are_the_projects_except_where_aws_allows_none(tmp_path: Path) -> None:
    statements = ci_policy.statements({
        "lambda:CreateFunction", "lambda:ListFunctions", "servicediscovery:CreateHttpNamespace",
        "servicediscovery:TagResource", "servicediscovery:DeleteNamespace", "sts:GetCallerIdentity",
    })  # fmt: skip
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["AnyResource"] == {
        "Sid": "AnyResource", "Effect": "Allow", "Resource": "*",
        "Action": ["lambda:ListFunctions", "sts:GetCallerIdentity"],
    }  # fmt: skip
    arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:shop-*"
    assert by_sid["Lambda"]["Resource"] == arn
    assert by_sid["Servicediscovery"]["Action"] == ["servicediscovery:DeleteNamespace"]
    assert by_sid["Servicediscovery"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/project": "shapeshifting-workshop"}
    }
    assert by_sid["ServicediscoveryCreate"] == {
        "Sid": "ServicediscoveryCreate", "Effect": "Allow", "Resource": "*",
        "Action": ["servicediscovery:CreateHttpNamespace", "servicediscovery:TagResource"],
        "Condition": {"StringEquals": {"aws:RequestTag/project": "shapeshifting-workshop"}},
    }  # fmt: skip
    # …and they survive the trip through the template's YAML.
    copy = tmp_path / "role.yaml"
    shutil.copy(ci_policy.TEMPLATE, copy)
    ci_policy.write_template(statements, copy)
    assert ci_policy.template_statements(copy) == ci_policy.as_template(statements)


def test_the_role_template_passes_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run([str(cfn_lint), str(ci_policy.TEMPLATE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
