"""Every ENV=aws plan names its price: the billed items each target lists are checked against what its deploy
creates (moto in-process), and the bill sums them per hour and per day."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from shopctl import cli
from shopctl.aws import census, prices
from shopctl.stages import STAGES, get_stage
from shopctl.targets import ecs_target, eks_cluster, eks_target, lambda_target


def _items(items: list[prices.Billed], word: str) -> list[prices.Billed]:
    return [item for item in items if word in item.what]


def test_the_bill_sums_each_item_per_hour_and_per_day() -> None:
    items = [prices.Billed("a", 2, 0.5), prices.Billed("b", 1, 0.25), prices.Billed("c", 1, 0.0)]
    lines = prices.bill(items)
    assert lines[0].strip() == "$1.0000/h  2 x a" and lines[2].strip() == "per request  c"
    assert lines[-1].startswith("≈ $1.250 per hour, $30.00 per day") and prices.PRICED in lines[-1]
    assert prices.fargate_task(0.25, 0.5, 1, "x").unit_hour == pytest.approx(0.25 * 0.04048 + 0.5 * 0.004445)


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_ecs_bill_matches_what_the_deploy_creates(pushed_images, stage: str) -> None:
    options = ecs_target.Options(env="aws", quiet=True)
    billed = ecs_target.costs(get_stage(stage), options)
    ecs_target.deploy(get_stage(stage), options)
    balancers = boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]
    (albs,) = [_items(billed, "Application Load Balancer")]
    assert sum(item.count for item in albs) == len(balancers) == 1
    (lb_addresses,) = _items(billed, "of the load balancer")
    assert lb_addresses.count == len(balancers[0]["AvailabilityZones"])
    ecs = boto3.client("ecs")
    services = ecs.describe_services(cluster="shop", services=ecs.list_services(cluster="shop")["serviceArns"])
    desired = sum(s["desiredCount"] for s in services["services"])
    (tasks,) = _items(billed, "Fargate task")
    assert tasks.count == desired
    public = [s for s in services["services"]
              if s["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "ENABLED"]
    (task_addresses,) = _items(billed, "of the tasks")
    assert task_addresses.count == sum(s["desiredCount"] for s in public)
    definition = ecs.describe_task_definition(taskDefinition=services["services"][0]["taskDefinition"])
    cpu, memory = int(definition["taskDefinition"]["cpu"]), int(definition["taskDefinition"]["memory"])
    assert tasks.unit_hour == prices.fargate_task(cpu / 1024, memory / 1024, 1, "").unit_hour


@pytest.mark.parametrize("create_cluster", [True, False])
def test_the_eks_bill_matches_what_the_deploy_creates(
    managed_policies, pushed_images, kubectl_calls, create_cluster: bool
) -> None:
    stage = get_stage("microservices")
    if not create_cluster:  # an existing cluster, not made by deploy, its public subnets tagged for load balancers
        subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:2]
        boto3.client("ec2").create_tags(Resources=subnets, Tags=[{"Key": "kubernetes.io/role/elb", "Value": "1"}])
        boto3.client("eks").create_cluster(
            name="shop", roleArn="arn:aws:iam::123456789012:role/x", resourcesVpcConfig={"subnetIds": subnets}
        )
    options = eks_target.Options(env="aws", quiet=True, create_cluster=create_cluster)
    billed = eks_target.costs(stage, options)
    record = eks_target.deploy(stage, options)
    applied = Path(record.resources.manifests).read_text()
    (nlbs,) = _items(billed, "Network Load Balancer")
    assert nlbs.count == applied.count("type: LoadBalancer") == 2
    cluster = boto3.client("eks").describe_cluster(name="shop")["cluster"]
    assert bool(_items(billed, "control plane")) == create_cluster == eks_cluster.created_by_deploy(cluster)
    assert bool(_items(billed, "Auto Mode node")) == create_cluster
    (nlb_addresses,) = _items(billed, "of the NLBs")
    if create_cluster:  # the load balancers span the cluster's subnets, one address per zone
        assert nlb_addresses.count == nlbs.count * len(cluster["resourcesVpcConfig"]["subnetIds"])


def test_lambda_bills_by_the_hour_only_snapstart_snapshots() -> None:
    stage = get_stage("microservices")
    plain = lambda_target.costs(stage, lambda_target.Options(env="aws"))
    assert prices.hourly(plain) == 0
    snap = lambda_target.costs(stage, lambda_target.Options(env="aws", snapstart=True))
    (cache,) = _items(snap, "SnapStart")
    assert cache.count == len(lambda_target.lambda_services(stage)) == 2
    assert cache.hourly * 24 / 2 == pytest.approx(0.065, abs=0.005)  # ~$0.07 a day per 512 MB function


def test_an_aws_deploy_shows_the_plan_with_its_prices_before_asking(pushed_images, capsys) -> None:
    # no terminal to answer the question, no YES=1: not confirmed, nothing created
    assert cli.main(["deploy", "--stage", "clean", "--target", "ecs", "--env", "aws"]) == 1
    out, err = capsys.readouterr()
    assert "$0.0225/h  Application Load Balancer shop-clean-ecs" in out, err
    assert "per hour" in out and "per day" in out
    assert [r for r in census.census() if r.service in ("ecs", "elbv2")] == []


def test_a_workshop_of_all_nine_on_aws_counts_the_shared_eks_cluster_once() -> None:
    from shopctl import fleet

    rows, total = fleet.workshop_bill(hours=2)
    hourly = dict(rows)
    assert len(hourly) == 9 and total == pytest.approx(2 * sum(hourly.values()))
    assert {name for name, price in rows if price == 0} == {f"{s}-lambda" for s in STAGES}
    # monolith and clean deploy one service each on EKS: only the first carries the cluster and its node
    shared = prices.EKS_CLUSTER_HOUR + prices.AUTO_MODE_NODE_HOUR + prices.PUBLIC_IPV4_HOUR
    assert hourly["monolith-eks"] - hourly["clean-eks"] == pytest.approx(shared)
