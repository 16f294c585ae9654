"""Every resource of the project an AWS account (or the local AWS) holds, service by service.

Used by `make status` (what is still there, with or without a state file) and by the test proving that
`destroy-all KEEP_DATA=0` leaves nothing behind. One lister per AWS service the deploy code creates
something in; a resource counts when it carries the project tag or, where a listing shows no tags, the
project's names (`shop-…`, `/shop/…`).

Per-service listing rather than the Resource Groups Tagging API: that API does not cover IAM roles, OIDC
providers or task definition revisions, and moto implements it for only some services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients

PROJECT_TAG = ("project", "shapeshifting-workshop")


@dataclass(frozen=True)
class Resource:
    service: str  # the AWS service, as boto3 names its client
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.service}: {self.kind} {self.name}"


def _ours(name: str) -> bool:
    return name.startswith(("shop-", "/shop/", "/ecs/shop-", "/aws/lambda/shop-"))


def _tagged(tags: list[dict[str, str]] | dict[str, str]) -> bool:
    pairs = (
        tags.items()
        if isinstance(tags, dict)
        else ((t.get("Key", t.get("key")), t.get("Value", t.get("value"))) for t in tags)
    )
    return PROJECT_TAG in set(pairs)


def _listed(service: str, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item of a listing, page after page: an account with many functions, roles or log groups
    gets them over several pages, and a census that read only the first page would miss leftovers."""
    for page in clients.client(service).get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def dynamodb() -> list[Resource]:
    names = _listed("dynamodb", "list_tables", "TableNames")
    return [Resource("dynamodb", "table", n) for n in names if _ours(n)]


def ssm() -> list[Resource]:
    params = _listed("ssm", "describe_parameters", "Parameters")
    return [Resource("ssm", "parameter", p["Name"]) for p in params if _ours(p["Name"])]


def ecr() -> list[Resource]:
    repos = _listed("ecr", "describe_repositories", "repositories")
    return [Resource("ecr", "repository", r["repositoryName"]) for r in repos if _ours(r["repositoryName"])]


def ecs() -> list[Resource]:
    client = clients.client("ecs")
    found = []
    arns = list(_listed("ecs", "list_clusters", "clusterArns"))
    for start in range(0, len(arns), 100):  # DescribeClusters takes at most 100
        for cluster in client.describe_clusters(clusters=arns[start : start + 100])["clusters"]:
            if cluster["status"] == "ACTIVE" and cluster["clusterName"] == "shop":
                found.append(Resource("ecs", "cluster", cluster["clusterName"]))
                for service in _listed("ecs", "list_services", "serviceArns", cluster=cluster["clusterArn"]):
                    found.append(Resource("ecs", "service", service.rsplit("/", 1)[1]))
    for status in ("ACTIVE", "INACTIVE"):  # INACTIVE revisions stay listed until deleted
        for arn in _listed("ecs", "list_task_definitions", "taskDefinitionArns", status=status):
            if _ours(arn.rsplit("/", 1)[1]):
                found.append(Resource("ecs", f"task definition ({status})", arn.rsplit("/", 1)[1]))
    return found


def elbv2() -> list[Resource]:
    balancers = _listed("elbv2", "describe_load_balancers", "LoadBalancers")
    groups = _listed("elbv2", "describe_target_groups", "TargetGroups")
    return [
        Resource("elbv2", "load balancer", b["LoadBalancerName"]) for b in balancers if _ours(b["LoadBalancerName"])
    ] + [Resource("elbv2", "target group", g["TargetGroupName"]) for g in groups if _ours(g["TargetGroupName"])]


def ec2() -> list[Resource]:
    groups = _listed("ec2", "describe_security_groups", "SecurityGroups")
    return [Resource("ec2", "security group", g["GroupName"]) for g in groups if _ours(g["GroupName"])]


def iam() -> list[Resource]:
    client = clients.client("iam")
    found = []
    for role in _listed("iam", "list_roles", "Roles"):
        tags = list(_listed("iam", "list_role_tags", "Tags", RoleName=role["RoleName"]))
        if _tagged(tags) or _ours(role["RoleName"]):
            found.append(Resource("iam", "role", role["RoleName"]))
    # ListOpenIDConnectProviders is not paginated: one call returns them all.
    for provider in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        tags = list(
            _listed("iam", "list_open_id_connect_provider_tags", "Tags", OpenIDConnectProviderArn=provider["Arn"])
        )
        if _tagged(tags):
            found.append(Resource("iam", "OIDC provider", provider["Arn"].split("oidc-provider/", 1)[1]))
    return found + instance_profiles({r.name for r in found if r.kind == "role"})


def instance_profiles(project_roles: set[str]) -> list[Resource]:
    """Instance profiles holding one of the project's roles: EKS Auto Mode puts a cluster's node role in a
    profile of its own that outlives the cluster (EKS user guide, "EKS Auto Mode node IAM role"), and
    IAM refuses to delete the role while it is there (DeleteRole: DeleteConflict)."""
    return [
        Resource("iam", "instance profile", profile["InstanceProfileName"])
        for profile in _listed("iam", "list_instance_profiles", "InstanceProfiles")
        if any(role["RoleName"] in project_roles for role in profile.get("Roles", []))
    ]


def logs() -> list[Resource]:
    groups = _listed("logs", "describe_log_groups", "logGroups")
    return [Resource("logs", "log group", g["logGroupName"]) for g in groups if _ours(g["logGroupName"])]


def lambda_() -> list[Resource]:
    functions = _listed("lambda", "list_functions", "Functions")
    return [Resource("lambda", "function", f["FunctionName"]) for f in functions if _ours(f["FunctionName"])]


def s3() -> list[Resource]:
    buckets = _listed("s3", "list_buckets", "Buckets")
    return [Resource("s3", "bucket", b["Name"]) for b in buckets if _ours(b["Name"])]


def eks() -> list[Resource]:
    client = clients.client("eks")
    found = []
    for name in _listed("eks", "list_clusters", "clusters"):
        if _tagged(client.describe_cluster(name=name)["cluster"].get("tags", {})):
            found.append(Resource("eks", "cluster", name))
    return found


def servicediscovery() -> list[Resource]:
    client = clients.client("servicediscovery")
    found = []
    for namespace in _listed("servicediscovery", "list_namespaces", "Namespaces"):
        tags = client.list_tags_for_resource(ResourceARN=namespace["Arn"])["Tags"]  # not paginated
        if _tagged(tags):
            found.append(Resource("servicediscovery", "namespace", namespace["Name"]))
    return found


def apigatewayv2() -> list[Resource]:
    apis = _listed("apigatewayv2", "get_apis", "Items")
    return [Resource("apigatewayv2", "HTTP API", a["Name"]) for a in apis if _tagged(a.get("Tags", {}))]


# Every AWS service the deploy code creates something in (sts only answers who we are).
LISTERS: dict[str, Callable[[], list[Resource]]] = {
    "dynamodb": dynamodb,
    "ssm": ssm,
    "ecr": ecr,
    "ecs": ecs,
    "elbv2": elbv2,
    "ec2": ec2,
    "iam": iam,
    "logs": logs,
    "lambda": lambda_,
    "s3": s3,
    "eks": eks,
    "servicediscovery": servicediscovery,
    "apigatewayv2": apigatewayv2,
}


def census() -> list[Resource]:
    """Every resource of the project, across every service in LISTERS."""
    found: list[Resource] = []
    for service, lister in LISTERS.items():
        try:
            found += lister()
        except ClientError as error:  # e.g. a service not enabled in this region: say so, do not hide it
            found.append(Resource(service, "listing failed", error.response["Error"]["Code"]))
    return found
