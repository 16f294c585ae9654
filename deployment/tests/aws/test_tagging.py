"""shopctl.aws.tagging: one Tags value, the three spellings AWS APIs take — and AWS reads each back as the
same tags."""

from __future__ import annotations

import boto3

from shopctl.aws.tagging import PROJECT, Tags


def test_the_project_tag_alone_for_what_no_deployment_owns() -> None:
    assert Tags().as_dict() == {"project": PROJECT}


def test_a_stage_without_a_target_is_not_a_deployment() -> None:
    assert Tags("clean").as_dict() == {"project": PROJECT, "stage": "clean"}


def test_a_deployment_carries_stage_target_and_its_name() -> None:
    assert Tags("clean", "ecs").as_dict() == {
        "project": PROJECT,
        "stage": "clean",
        "target": "ecs",
        "deployment": "clean-ecs",
    }


def test_of_splits_a_deployment_name_at_its_last_hyphen() -> None:
    assert Tags.of("clean-ecs") == Tags("clean", "ecs")
    assert Tags.of("my-stage-lambda") == Tags("my-stage", "lambda")
    assert Tags.of("monolith-eks").as_dict()["deployment"] == "monolith-eks"


def test_the_three_spellings_hold_the_same_tags() -> None:
    tags = Tags("monolith", "lambda")
    expected = tags.as_dict()
    assert {t["Key"]: t["Value"] for t in tags.key_value()} == expected
    assert {t["key"]: t["value"] for t in tags.lower_key_value()} == expected
    assert all(set(t) == {"Key", "Value"} for t in tags.key_value())
    assert all(set(t) == {"key", "value"} for t in tags.lower_key_value())


def test_each_spelling_is_the_one_its_api_accepts(aws: None) -> None:
    tags = Tags("clean", "ecs")
    iam = boto3.client("iam")
    iam.create_role(RoleName="tagged", AssumeRolePolicyDocument="{}", Tags=tags.key_value())
    role_tags = iam.list_role_tags(RoleName="tagged")["Tags"]
    assert {t["Key"]: t["Value"] for t in role_tags} == tags.as_dict()

    ecs = boto3.client("ecs")
    boto3.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")  # as AWS wants it first
    arn = ecs.create_cluster(clusterName="tagged", tags=tags.lower_key_value())["cluster"]["clusterArn"]
    cluster_tags = ecs.list_tags_for_resource(resourceArn=arn)["tags"]
    assert {t["key"]: t["value"] for t in cluster_tags} == tags.as_dict()

    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="tagged", tags=tags.as_dict())
    group_arn = logs.describe_log_groups(logGroupNamePrefix="tagged")["logGroups"][0]["arn"].removesuffix(":*")
    assert logs.list_tags_for_resource(resourceArn=group_arn)["tags"] == tags.as_dict()
