"""The EKS cluster `TARGET=eks` deploys to, as AWS sees it: found by name or created in EKS Auto Mode (its
two roles, the default VPC's subnets in zones EKS accepts, tagged for load balancers), its IAM OIDC provider
(the pods' IRSA roles trust it), who may use its Kubernetes API (access entries), and removing what a cluster
deploy created leaves — with the cluster, or after it was deleted by hand. The deploy itself (tables, roles,
manifests, kubectl or the local supervisor) is `shopctl.targets.eks_target`.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients, iam
from shopctl.errors import ShopctlError

EKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {  # sts:TagSession: EKS Auto Mode tags the sessions it opens with the cluster role
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}
NODE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# What EKS Auto Mode needs (AWS managed policies, as in the EKS user guide's Auto Mode cluster IAM role).
AUTO_MODE_CLUSTER_POLICIES = [
    "AmazonEKSClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingPolicy",
]
AUTO_MODE_NODE_POLICIES = ["AmazonEKSWorkerNodeMinimalPolicy", "AmazonEC2ContainerRegistryPullOnly"]
# Set on a cluster deploy created: only such a cluster is ever deleted by destroy. A cluster the user
# named (CLUSTER_NAME) that existed before is theirs, whatever they ask.
CREATED_BY_TAG, CREATED_BY = "shapeshifting-workshop/created-by", "shopctl deploy"
CLUSTER_SUBNETS = 3  # the cluster (and so its load balancers) spans up to three of the default VPC's subnets


def find_cluster(name: str) -> dict[str, Any] | None:
    try:
        return clients.client("eks").describe_cluster(name=name)["cluster"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return None


def create_auto_mode_cluster(name: str) -> dict[str, Any]:
    """An EKS Auto Mode cluster in the default VPC: EKS runs the nodes, load balancers and storage."""
    longest = f"{name}-eks-cluster"  # IAM role names have at most 64 characters: checked before anything exists
    if len(longest) > 64:
        raise ShopctlError(
            f"CLUSTER_NAME {name!r} is {len(name)} characters: its role {longest[:20]}… would exceed IAM's 64",
            f"pick a CLUSTER_NAME of at most {64 - len('-eks-cluster')} characters",
        )
    cluster_role, _ = iam.ensure_role(f"{name}-eks-cluster", EKS_TRUST, None, f"EKS Auto Mode cluster role of {name}")
    iam.attach_managed_policies(f"{name}-eks-cluster", AUTO_MODE_CLUSTER_POLICIES)
    node_role, _ = iam.ensure_role(f"{name}-eks-node", NODE_TRUST, None, f"EKS Auto Mode node role of {name}")
    iam.attach_managed_policies(f"{name}-eks-node", AUTO_MODE_NODE_POLICIES)
    ec2 = clients.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ShopctlError("no default VPC in this region", "create one (aws ec2 create-default-vpc) or pick a region")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]

    def create(zones: set[str] | None) -> dict[str, Any]:
        chosen = cluster_subnets(subnets, zones)
        return iam.retry_while_role_propagates(
            lambda: clients.client("eks").create_cluster(
                name=name,
                roleArn=cluster_role,
                resourcesVpcConfig={"subnetIds": chosen},
                accessConfig={"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
                bootstrapSelfManagedAddons=False,  # Auto Mode manages the networking/DNS add-ons itself
                computeConfig={"enabled": True, "nodePools": ["general-purpose", "system"], "nodeRoleArn": node_role},
                kubernetesNetworkConfig={"elasticLoadBalancing": {"enabled": True}},
                storageConfig={"blockStorage": {"enabled": True}},
                tags={"project": "shapeshifting-workshop", CREATED_BY_TAG: CREATED_BY},
            )["cluster"]
        )

    try:
        cluster = create(None)
    except ClientError as error:
        # Some zones cannot hold an EKS control plane (us-east-1's use1-az3, …); EKS names the ones that can.
        if error.response["Error"]["Code"] != "UnsupportedAvailabilityZoneException":
            raise
        cluster = create(set(error.response.get("validZones", [])))
    tag_load_balancer_subnets(name, cluster["resourcesVpcConfig"]["subnetIds"])
    return cluster


def cluster_subnets(subnets: list[dict[str, Any]], zones: set[str] | None) -> list[str]:
    """Up to three subnets, one per Availability Zone (in `zones` when given; EKS wants two zones at
    least), in zone order."""
    by_zone: dict[str, str] = {}
    for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
        zone = subnet["AvailabilityZone"]
        if (zones is None or zone in zones) and zone not in by_zone:
            by_zone[zone] = subnet["SubnetId"]
    chosen = [by_zone[zone] for zone in sorted(by_zone)][:CLUSTER_SUBNETS]
    if len(chosen) < 2:
        raise ShopctlError(
            "the default VPC has no subnets in two Availability Zones EKS supports",
            "create a default subnet in another zone (aws ec2 create-default-subnet --availability-zone …)",
        )
    return chosen


# EKS Auto Mode places an internet-facing load balancer only in subnets tagged kubernetes.io/role/elb; the
# default VPC's carry no tag, so a Service's NLB would stay pending. Deploy tags the cluster's subnets, and
# marks the ones it tagged so deleting the cluster takes the tag off again.
ELB_SUBNET_TAG = "kubernetes.io/role/elb"
TAGGED_FOR_TAG = "shapeshifting-workshop/elb-tag-for-cluster"


def tag_load_balancer_subnets(cluster_name: str, subnet_ids: list[str]) -> None:
    ec2 = clients.client("ec2")
    untagged = [
        s["SubnetId"]
        for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
        if not any(t["Key"] == ELB_SUBNET_TAG for t in s.get("Tags", []))
    ]
    if untagged:
        ec2.create_tags(
            Resources=untagged,
            Tags=[{"Key": ELB_SUBNET_TAG, "Value": "1"}, {"Key": TAGGED_FOR_TAG, "Value": cluster_name}],
        )


def untag_load_balancer_subnets(cluster_name: str) -> list[str]:
    ec2 = clients.client("ec2")
    filters = [{"Name": f"tag:{TAGGED_FOR_TAG}", "Values": [cluster_name]}]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=filters)["Subnets"]]
    if subnets:
        ec2.delete_tags(Resources=subnets, Tags=[{"Key": ELB_SUBNET_TAG}, {"Key": TAGGED_FOR_TAG}])
        return [f"tag {ELB_SUBNET_TAG} of subnets {', '.join(subnets)}"]
    return []


def check_load_balancer_subnets(cluster: dict[str, Any]) -> None:
    """The cluster's VPC must have a subnet tagged for internet-facing load balancers, or every Service's NLB
    stays pending: a cluster deploy created gets its subnets tagged; one the user named is refused."""
    subnet_ids = cluster.get("resourcesVpcConfig", {}).get("subnetIds", [])
    ec2 = clients.client("ec2")
    vpcs = sorted({s["VpcId"] for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]}) if subnet_ids else []
    filters = [{"Name": "vpc-id", "Values": vpcs}, {"Name": f"tag:{ELB_SUBNET_TAG}", "Values": ["1", ""]}]
    if not vpcs or ec2.describe_subnets(Filters=filters)["Subnets"]:
        return
    if created_by_deploy(cluster):
        tag_load_balancer_subnets(cluster["name"], subnet_ids)
    else:
        vpc = ", ".join(vpcs)
        raise ShopctlError(
            f"EKS cluster {cluster['name']}: no subnet of {vpc} is tagged {ELB_SUBNET_TAG}=1, so its load "
            "balancers would stay pending",
            f"tag its public subnets: aws ec2 create-tags --resources <subnet-ids> --tags Key={ELB_SUBNET_TAG},Value=1",
        )


def created_by_deploy(cluster: dict[str, Any]) -> bool:
    return cluster.get("tags", {}).get(CREATED_BY_TAG) == CREATED_BY


def delete_cluster(name: str, *, wait: bool) -> list[str]:
    """Remove a cluster deploy created, with its two roles and its IAM OIDC provider. A cluster deploy did
    not create is refused."""
    removed: list[str] = []
    cluster = find_cluster(name)
    if cluster is not None:
        if not created_by_deploy(cluster):
            raise ShopctlError(
                f"EKS cluster {name} was not created by make deploy; it is never deleted by shopctl",
                f"delete it yourself if you mean to: aws eks delete-cluster --name {name}",
            )
        eks = clients.client("eks")
        eks.delete_cluster(name=name)
        if wait:
            print(f"… waiting for cluster {name} to be deleted (about 10 minutes)", flush=True)
            eks.get_waiter("cluster_deleted").wait(name=name, WaiterConfig={"Delay": 30, "MaxAttempts": 60})
        removed.append(f"EKS cluster {name}")
        removed += _delete_oidc_provider(cluster)
        removed += untag_load_balancer_subnets(name)
    for role in (f"{name}-eks-cluster", f"{name}-eks-node"):
        if iam.delete_role(role):
            removed.append(f"role {role}")
    return removed


def leftover_cluster_roles(name: str) -> list[str]:
    removed = []
    client = clients.client("iam")
    for role in (f"{name}-eks-cluster", f"{name}-eks-node"):
        if not iam.role_exists(role):
            continue
        tags = client.list_role_tags(RoleName=role)["Tags"]
        if {"Key": "project", "Value": "shapeshifting-workshop"} in tags and iam.delete_role(role):
            removed.append(f"role {role}")
    return removed


def remove_orphans() -> list[str]:
    """What a cluster deploy created leaves once the cluster is gone without it — deleted by hand, as the
    deploy's own message offers (`aws eks delete-cluster`), after a destroy that kept it: the two roles (the
    node role still in the instance profile EKS Auto Mode made for it, which iam.delete_role removes), the
    cluster's IAM OIDC provider and the subnets' load-balancer tag. Only what carries the project's tag, and
    only when no cluster of that name exists. `make destroy-all` runs it after every deployment's destroy."""
    client = clients.client("iam")
    names = set()
    for page in client.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            for suffix in ("-eks-cluster", "-eks-node"):
                if role["RoleName"].endswith(suffix):
                    names.add(role["RoleName"].removesuffix(suffix))
    removed = []
    for name in sorted(names):
        if find_cluster(name) is None:
            removed += leftover_cluster_roles(name) + untag_load_balancer_subnets(name)
    issuers = set()
    for page in clients.client("eks").get_paginator("list_clusters").paginate():
        for name in page["clusters"]:
            issuer = (find_cluster(name) or {}).get("identity", {}).get("oidc", {}).get("issuer", "")
            issuers.add(issuer.removeprefix("https://"))
    for provider in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        host_path = provider["Arn"].split("oidc-provider/", 1)[1]
        if ".eks." not in host_path or host_path in issuers:
            continue
        tags = client.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=provider["Arn"])["Tags"]
        if {"Key": "project", "Value": "shapeshifting-workshop"} in tags:
            client.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
            removed.append(f"IAM OIDC provider {host_path} (its cluster is gone)")
    return removed


def _delete_oidc_provider(cluster: dict[str, Any]) -> list[str]:
    host_path = cluster.get("identity", {}).get("oidc", {}).get("issuer", "").removeprefix("https://")
    client = clients.client("iam")
    removed = []
    for provider in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if host_path and provider["Arn"].endswith(f"oidc-provider/{host_path}"):
            client.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
            removed.append(f"IAM OIDC provider {host_path}")
    return removed


# Who may use the cluster's Kubernetes API: EKS gives its creator an access entry when the cluster is made
# (bootstrapClusterCreatorAdminPermissions); anyone else deploying to it needs one of their own, or every
# kubectl call is refused (EKS user guide, "Grant IAM users access to Kubernetes with EKS access entries").
# Cluster scope, not a namespace: deploy applies the Namespace object, which is not inside any namespace.
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def deployer_principal() -> str:
    """The IAM principal deploying: an assumed role's session (SSO, a CI role) is turned into the role's
    ARN, as access entries take no STS session principals (EKS API reference, CreateAccessEntry)."""
    arn = clients.client("sts").get_caller_identity()["Arn"]
    if ":assumed-role/" in arn:
        _, partition, _, _, account, resource = arn.split(":", 5)
        return f"arn:{partition}:iam::{account}:role/{resource.split('/')[1]}"
    return arn


def ensure_access_entry(eks: Any, cluster_name: str, principal: str) -> bool:
    """Give `principal` cluster admin through an access entry if it has none (one it has is left as it is).
    Returns True when deploy created it: tagged, so only that one is ever removed."""
    try:
        eks.describe_access_entry(clusterName=cluster_name, principalArn=principal)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    eks.create_access_entry(
        clusterName=cluster_name,
        principalArn=principal,
        type="STANDARD",
        tags={"project": "shapeshifting-workshop", CREATED_BY_TAG: CREATED_BY},
    )
    eks.associate_access_policy(
        clusterName=cluster_name,
        principalArn=principal,
        policyArn=CLUSTER_ADMIN_POLICY,
        accessScope={"type": "cluster"},
    )
    return True


def remove_access_entry(eks: Any, cluster_name: str, principal: str) -> list[str]:
    """`principal`'s access entry, only if deploy created it; returns what was removed."""
    try:
        entry = eks.describe_access_entry(clusterName=cluster_name, principalArn=principal)["accessEntry"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return []
    if entry.get("tags", {}).get(CREATED_BY_TAG) != CREATED_BY:
        return []
    eks.delete_access_entry(clusterName=cluster_name, principalArn=principal)
    return [f"EKS access entry of {principal} on cluster {cluster_name}"]


def oidc_provider(cluster: dict[str, Any]) -> tuple[str, str]:
    """The cluster's IAM OIDC provider (created if missing): IRSA roles trust it. Returns (arn, host/path)."""
    issuer = cluster["identity"]["oidc"]["issuer"]
    host_path = issuer.removeprefix("https://")
    iam_client = clients.client("iam")
    for provider in iam_client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        if provider["Arn"].endswith(f"oidc-provider/{host_path}"):
            return provider["Arn"], host_path
    arn = iam_client.create_open_id_connect_provider(
        Url=issuer,
        ClientIDList=["sts.amazonaws.com"],  # no ThumbprintList: optional, and IAM verifies EKS's issuer itself
        Tags=[{"Key": "project", "Value": "shapeshifting-workshop"}],
    )["OpenIDConnectProviderArn"]
    return arn, host_path
