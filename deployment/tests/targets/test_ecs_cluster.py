"""shopctl.targets.ecs_cluster: the shared cluster and its Cloud Map namespace are made once and removed
together only when no service is left; the tasks' security group admits the container port from the VPC
only (moto in-process; what moto cannot show — a failed Cloud Map operation, a namespace still in use — is
injected through the `aws_calls` hooks)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.targets import ecs_cluster
from shopctl.targets.ecs_cluster import CLUSTER


def _namespaces() -> list[dict]:
    return [n for n in boto3.client("servicediscovery").list_namespaces()["Namespaces"] if n["Name"] == CLUSTER]


def _active_clusters() -> list[dict]:
    clusters = boto3.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return [c for c in clusters if c["status"] == "ACTIVE"]


def _service(name: str = "users") -> None:
    ecs = boto3.client("ecs")
    ecs.register_task_definition(
        family=name, containerDefinitions=[{"name": name, "image": "shop:latest", "memory": 512}]
    )
    ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=name, desiredCount=1)


def test_ensure_cluster_makes_the_cluster_and_its_tagged_namespace_once(aws_calls) -> None:
    ecs_cluster.ensure_cluster()
    ecs_cluster.ensure_cluster()
    assert len(aws_calls.params("servicediscovery", "CreateHttpNamespace")) == 1
    assert len(aws_calls.params("ecs", "CreateCluster")) == 1

    (namespace,) = _namespaces()
    (cluster,) = _active_clusters()
    assert cluster["serviceConnectDefaults"]["namespace"] == namespace["Arn"]
    discovery = boto3.client("servicediscovery")
    tags = discovery.list_tags_for_resource(ResourceARN=namespace["Arn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == Tags().as_dict()  # shared by every stage: no stage tag
    ecs_tags = boto3.client("ecs").list_tags_for_resource(resourceArn=cluster["clusterArn"])["tags"]
    assert {t["key"]: t["value"] for t in ecs_tags} == Tags().as_dict()


def test_ensure_cluster_reuses_a_namespace_left_behind(aws_calls) -> None:
    boto3.client("servicediscovery").create_http_namespace(Name=CLUSTER)
    ecs_cluster.ensure_cluster()
    assert aws_calls.params("servicediscovery", "CreateHttpNamespace") == [{"Name": CLUSTER}]  # only ours above
    assert len(_namespaces()) == 1
    assert _active_clusters()[0]["serviceConnectDefaults"]["namespace"] == _namespaces()[0]["Arn"]


def test_a_cluster_with_a_service_left_is_kept(aws: None) -> None:
    ecs_cluster.ensure_cluster()
    _service()
    assert ecs_cluster.delete_cluster_if_unused() == []
    assert len(_active_clusters()) == 1
    assert len(_namespaces()) == 1


def test_the_last_service_gone_takes_the_cluster_and_namespace_with_it(aws: None) -> None:
    ecs_cluster.ensure_cluster()
    _service()
    ecs = boto3.client("ecs")
    ecs.update_service(cluster=CLUSTER, service="users", desiredCount=0)
    ecs.delete_service(cluster=CLUSTER, service="users")
    assert ecs_cluster.delete_cluster_if_unused() == [f"ECS cluster {CLUSTER}", f"Cloud Map namespace {CLUSTER}"]
    assert _active_clusters() == []
    assert _namespaces() == []
    assert ecs_cluster.delete_cluster_if_unused() == []  # nothing left: nothing to say


def test_a_namespace_without_its_cluster_is_still_removed(aws: None) -> None:
    ecs_cluster.ensure_cluster()
    boto3.client("ecs").delete_cluster(cluster=CLUSTER)
    assert ecs_cluster.delete_cluster_if_unused() == [f"Cloud Map namespace {CLUSTER}"]
    assert _namespaces() == []


def test_a_namespace_still_in_use_is_left_for_the_next_destroy(aws_calls, capsys) -> None:
    ecs_cluster.ensure_cluster()

    def in_use() -> None:
        raise ClientError({"Error": {"Code": "ResourceInUse", "Message": "has services"}}, "DeleteNamespace")

    aws_calls.before("servicediscovery", "DeleteNamespace", in_use)
    assert ecs_cluster.delete_cluster_if_unused() == [f"ECS cluster {CLUSTER}"]
    assert "run make destroy again in a minute" in capsys.readouterr().out
    assert len(_namespaces()) == 1


def test_a_failed_cloud_map_operation_is_one_line_with_its_reason(aws_calls) -> None:
    def failed(operation: dict) -> None:
        operation["Operation"].update(Status="FAIL", ErrorMessage="limit exceeded")

    aws_calls.on_response("servicediscovery", "GetOperation", failed)
    with pytest.raises(ShopctlError, match=f"creating the Cloud Map namespace {CLUSTER} failed: limit exceeded"):
        ecs_cluster.ensure_cluster()
    assert _active_clusters() == []  # no cluster without its namespace


def test_the_tasks_network_admits_the_container_port_from_the_vpc_only(aws: None) -> None:
    vpc_id, network = ecs_cluster.network("clean", 8080)
    ec2 = boto3.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert vpc["IsDefault"]
    config = network["awsvpcConfiguration"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert config["subnets"] == sorted(s["SubnetId"] for s in subnets)[:3]

    (group_id,) = config["securityGroups"]
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert (group["GroupName"], group["VpcId"]) == ("shop-clean-ecs", vpc_id)
    (rule,) = group["IpPermissions"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 8080, 8080)
    assert [r["CidrIp"] for r in rule["IpRanges"]] == [vpc["CidrBlock"]]
    assert not rule.get("Ipv6Ranges") and not rule.get("UserIdGroupPairs")


def test_the_tasks_security_group_is_made_once_per_stage(aws_calls) -> None:
    first = ecs_cluster.network("clean", 8080)
    assert ecs_cluster.network("clean", 8080) == first
    other = ecs_cluster.network("monolith", 8080)
    assert other[1]["awsvpcConfiguration"]["securityGroups"] != first[1]["awsvpcConfiguration"]["securityGroups"]
    assert len(aws_calls.params("ec2", "CreateSecurityGroup")) == 2
    assert len(aws_calls.params("ec2", "AuthorizeSecurityGroupIngress")) == 2


def test_no_default_vpc_is_one_line_with_how_to_make_one(aws: None) -> None:
    ec2 = boto3.client("ec2")  # a region whose default VPC was deleted
    (vpc,) = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
    for gateway in gateways["InternetGateways"]:
        ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc["VpcId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    with pytest.raises(ShopctlError, match="no default VPC in this region") as caught:
        ecs_cluster.network("clean", 8080)
    assert "create-default-vpc" in caught.value.hint
