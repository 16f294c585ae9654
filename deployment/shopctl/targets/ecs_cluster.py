"""What every stage's ECS deployment shares: the cluster `shop` with its Service Connect namespace (made and
removed with it), and the default VPC's network the tasks run in."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients, iam
from shopctl.aws.tagging import PROJECT, Tags
from shopctl.errors import ShopctlError
from shopctl.targets import security_groups

CLUSTER = "shop"
MAX_SUBNETS = 3  # the tasks and the load balancer use up to three of the default VPC's subnets


def default_vpc() -> dict[str, Any]:
    vpcs = clients.client("ec2").describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ShopctlError("no default VPC in this region", "create one (aws ec2 create-default-vpc) or pick a region")
    return vpcs[0]


def network(stage: str, port: int) -> tuple[str, dict[str, Any]]:
    """The default VPC's id, and its subnets plus a security group that admits the container port from inside
    the VPC only (the load balancer and Service Connect peers live there)."""
    ec2 = clients.client("ec2")
    vpc = default_vpc()
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    rule = {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": vpc["CidrBlock"], "Description": "load balancer and services in the VPC"}],
    }
    description = f"shop-{stage} tasks: port {port} from the VPC"
    group_id = security_groups.ensure(f"shop-{stage}-ecs", description, vpc["VpcId"], rule, Tags(stage, "ecs"))
    subnet_ids = sorted(s["SubnetId"] for s in subnets)[:MAX_SUBNETS]
    config = {"subnets": subnet_ids, "securityGroups": [group_id], "assignPublicIp": "ENABLED"}
    return vpc["VpcId"], {"awsvpcConfiguration": config}


def _find_namespace(name: str) -> dict[str, Any] | None:
    namespaces = clients.client("servicediscovery").list_namespaces()["Namespaces"]
    return next((n for n in namespaces if n["Name"] == name), None)


def _wait_operation(operation_id: str, what: str) -> None:
    """Cloud Map changes namespaces asynchronously; wait for the operation (seconds on AWS)."""
    client = clients.client("servicediscovery")
    for _ in range(60):
        operation = client.get_operation(OperationId=operation_id)["Operation"]
        if operation["Status"] == "SUCCESS":
            return
        if operation["Status"] == "FAIL":
            reason = operation.get("ErrorMessage", "no reason given")
            raise ShopctlError(f"{what} failed: {reason}", "retry the command")
        time.sleep(2)
    raise ShopctlError(f"{what} did not finish within 2 minutes", "retry the command")


def ensure_cluster() -> None:
    """The shared ECS cluster and its Service Connect namespace. The namespace is created here, by name and
    tagged, rather than implicitly by ECS: so destroy can find it and remove it with the cluster."""
    namespace = _find_namespace(CLUSTER)
    if namespace is None:
        operation = clients.client("servicediscovery").create_http_namespace(
            Name=CLUSTER,
            Description="Service Connect namespace of the shop's ECS cluster",
            Tags=Tags().key_value(),  # shared by every stage's ECS deployment
        )["OperationId"]
        _wait_operation(operation, f"creating the Cloud Map namespace {CLUSTER}")
        namespace = _find_namespace(CLUSTER)
    assert namespace is not None
    ecs = clients.client("ecs")
    # A fresh account has no ECS service-linked role: its first CreateCluster/CreateService would fail.
    iam.ensure_service_linked_role("ecs.amazonaws.com", "AWSServiceRoleForECS")
    clusters = ecs.describe_clusters(clusters=[CLUSTER])["clusters"]
    if not any(c["status"] == "ACTIVE" for c in clusters):
        iam.retry_while_role_propagates(
            lambda: ecs.create_cluster(
                clusterName=CLUSTER,
                serviceConnectDefaults={"namespace": namespace["Arn"]},
                tags=Tags().lower_key_value(),
            )
        )


def cluster_exists() -> bool:
    """Is the shared cluster there (ACTIVE)? Without it ECS answers ClusterNotFoundException to every
    service call, so destroy asks first."""
    clusters = clients.client("ecs").describe_clusters(clusters=[CLUSTER])["clusters"]
    return any(c["status"] == "ACTIVE" for c in clusters)


def _kept(what: str) -> None:
    print(f"  {what} kept: it lacks the tag project={PROJECT}, so make deploy did not create it", flush=True)


def delete_cluster_if_unused() -> list[str]:
    """Remove the shared cluster and its namespace once no service of any stage is left in it — only if they
    carry the project's tag: a cluster or namespace called `shop` that deploy did not make is left alone."""
    ecs = clients.client("ecs")
    described = ecs.describe_clusters(clusters=[CLUSTER], include=["TAGS"])["clusters"]
    clusters = [c for c in described if c["status"] == "ACTIVE"]
    removed = []
    ours = [c for c in clusters if {"key": "project", "value": PROJECT} in c.get("tags", [])]
    if clusters and not ours:
        _kept(f"ECS cluster {CLUSTER}")
    elif clusters:
        active = ecs.list_services(cluster=CLUSTER)["serviceArns"]
        described = ecs.describe_services(cluster=CLUSTER, services=active)["services"] if active else []
        if any(s["status"] != "INACTIVE" for s in described):
            return []
        ecs.delete_cluster(cluster=CLUSTER)
        removed.append(f"ECS cluster {CLUSTER}")
    namespace = _find_namespace(CLUSTER)
    if namespace is not None:
        tags = clients.client("servicediscovery").list_tags_for_resource(ResourceARN=namespace["Arn"])["Tags"]
        if {"Key": "project", "Value": PROJECT} not in tags:
            _kept(f"Cloud Map namespace {CLUSTER}")
            return removed
        if clusters and not ours:  # ours, but serving someone else's cluster
            return removed
        try:
            operation = clients.client("servicediscovery").delete_namespace(Id=namespace["Id"])["OperationId"]
            _wait_operation(operation, f"deleting the Cloud Map namespace {CLUSTER}")
            removed.append(f"Cloud Map namespace {CLUSTER}")
        except ClientError as error:
            # Service Connect's Cloud Map services go with the ECS services, a little later on AWS
            if error.response["Error"]["Code"] != "ResourceInUse":
                raise
            print(f"  Cloud Map namespace {CLUSTER} still has services; run make destroy again in a minute", flush=True)
    return removed
