"""The census reads every page of a listing: leftovers past the first page are still leftovers."""

from __future__ import annotations

import boto3

from shopctl.aws import census


def test_census_lists_parameters_past_the_first_page(aws: None) -> None:
    client = boto3.client("ssm")
    names = [f"/shop/census-{i:02d}/setting" for i in range(13)]  # DescribeParameters returns 10 a page
    for name in names:
        client.put_parameter(Name=name, Value="x", Type="String")
    client.put_parameter(Name="/other-project/setting", Value="x", Type="String")

    assert len(client.describe_parameters()["Parameters"]) < len(names)  # the listing really pages
    assert sorted(r.name for r in census.ssm()) == names


def test_census_lists_log_groups_past_the_first_page(aws: None) -> None:
    client = boto3.client("logs")
    names = [f"/aws/lambda/shop-census-{i:02d}" for i in range(53)]  # DescribeLogGroups returns 50 a page
    for name in names:
        client.create_log_group(logGroupName=name)

    assert len(client.describe_log_groups()["logGroups"]) < len(names)
    assert sorted(r.name for r in census.logs()) == names
