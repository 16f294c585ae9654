"""shopctl.aws.logs: a deployment's log group is made with a retention and its tags (again without
complaint), and deleting it says whether there was one."""

from __future__ import annotations

import boto3

from shopctl.aws.logs import delete_log_group, ensure_log_group
from shopctl.aws.tagging import Tags


def _group(name: str) -> dict:
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return next(g for g in groups if g["logGroupName"] == name)


def _tags(name: str) -> dict[str, str]:
    arn = _group(name)["arn"].removesuffix(":*")
    return boto3.client("logs").list_tags_for_resource(resourceArn=arn)["tags"]


def test_a_new_group_keeps_logs_two_weeks_and_carries_the_project_tag(aws: None) -> None:
    ensure_log_group("/shop/plain")
    assert _group("/shop/plain")["retentionInDays"] == 14
    assert _tags("/shop/plain") == Tags().as_dict()


def test_a_deployments_group_carries_its_tags_and_the_retention_asked_for(aws: None) -> None:
    ensure_log_group("/aws/lambda/shop-clean", retention_days=7, tags=Tags("clean", "lambda"))
    assert _group("/aws/lambda/shop-clean")["retentionInDays"] == 7
    assert _tags("/aws/lambda/shop-clean") == Tags("clean", "lambda").as_dict()


def test_ensuring_an_existing_group_again_sets_its_retention(aws: None) -> None:
    ensure_log_group("/shop/again", retention_days=30)
    ensure_log_group("/shop/again", retention_days=3)
    assert _group("/shop/again")["retentionInDays"] == 3
    assert len(boto3.client("logs").describe_log_groups(logGroupNamePrefix="/shop/again")["logGroups"]) == 1


def test_delete_says_whether_it_removed_a_group(aws: None) -> None:
    ensure_log_group("/shop/gone")
    assert delete_log_group("/shop/gone") is True
    assert boto3.client("logs").describe_log_groups(logGroupNamePrefix="/shop/gone")["logGroups"] == []
    assert delete_log_group("/shop/gone") is False
