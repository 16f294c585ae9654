"""The Application Load Balancer in front of a stage's ECS services: one public base URL per deployment.

One-service stages get one target group; the microservices stage gets one per service and the listener
routes `/users*` and `/orders*` to them — on AWS the ALB does what the local gateway does on this machine.
Created through boto3 like everything else, so locally the load balancer is a record in the local AWS
(the local gateway / supervisor port stands in for its DNS name) and on AWS it is the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import Tags
from shopctl.errors import ShopctlError
from shopctl.targets import security_groups

LISTENER_PORT = 80  # HTTP for the workshop; production adds an ACM certificate and an HTTPS listener
# How long a target group keeps sending in-flight requests to a target being removed. AWS's default is
# 300 s, which holds every destroy (and every rolling update) for five minutes; the shop's requests last
# milliseconds.
DEREGISTRATION_DELAY_SECONDS = 10


@dataclass(frozen=True)
class Route:
    """Requests whose path matches `paths` go to the target group of `service` (the first route is the default)."""

    service: str
    target_group: str  # the target group's name (≤ 32 characters), = the ECS service's name
    paths: tuple[str, ...] = ()


def load_balancer_name(deployment_name: str) -> str:
    return f"shop-{deployment_name}"


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def _find_load_balancer(name: str) -> dict[str, Any] | None:
    try:
        return clients.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except ClientError as error:
        if _code(error) != "LoadBalancerNotFound":
            raise
        return None


def _find_target_group(name: str) -> dict[str, Any] | None:
    try:
        return clients.client("elbv2").describe_target_groups(Names=[name])["TargetGroups"][0]
    except ClientError as error:
        if _code(error) != "TargetGroupNotFound":
            raise
        return None


def _security_group(name: str, vpc_id: str, tags: Tags) -> str:
    """The load balancer's own security group: HTTP from anywhere (it is the shop's public front door)."""
    rule = {
        "IpProtocol": "tcp",
        "FromPort": LISTENER_PORT,
        "ToPort": LISTENER_PORT,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "the shop's public HTTP endpoint"}],
    }
    return security_groups.ensure(name, f"{name}: HTTP {LISTENER_PORT} from the internet", vpc_id, rule, tags)


def _target_group(name: str, vpc_id: str, port: int, health_path: str, tags: Tags) -> str:
    found = _find_target_group(name)
    arn = found["TargetGroupArn"] if found else _create_target_group(name, vpc_id, port, health_path, tags)
    shorten_deregistration_delay(arn)
    return arn


def shorten_deregistration_delay(target_group_arn: str) -> None:
    clients.client("elbv2").modify_target_group_attributes(
        TargetGroupArn=target_group_arn,
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(DEREGISTRATION_DELAY_SECONDS)}],
    )


def target_group_arns(names: list[str]) -> list[str]:
    """The ARNs of those of `names` that exist."""
    return [found["TargetGroupArn"] for found in map(_find_target_group, names) if found]


def _create_target_group(name: str, vpc_id: str, port: int, health_path: str, tags: Tags) -> str:
    return clients.client("elbv2").create_target_group(
        Name=name,
        Protocol="HTTP",
        Port=port,
        VpcId=vpc_id,
        TargetType="ip",  # awsvpc tasks register by IP address
        HealthCheckProtocol="HTTP",
        HealthCheckPath=health_path,
        HealthCheckIntervalSeconds=10,
        HealthyThresholdCount=2,
        Matcher={"HttpCode": "200"},
        Tags=tags.key_value(),
    )["TargetGroups"][0]["TargetGroupArn"]


def ensure(
    deployment_name: str, *, vpc_id: str, subnets: list[str], routes: list[Route], port: int, health_path: str
) -> tuple[str, dict[str, str]]:
    """Create (or keep) the load balancer, one target group per route and the listener rules.

    Returns the base URL and {service: target group ARN} for the ECS services' `loadBalancers`.
    """
    if len(subnets) < 2:
        raise ShopctlError(
            "an Application Load Balancer needs subnets in two Availability Zones",
            "use a region whose default VPC has at least two subnets",
        )
    elbv2 = clients.client("elbv2")
    name = load_balancer_name(deployment_name)
    tags = Tags.of(deployment_name)
    target_groups = {r.service: _target_group(r.target_group, vpc_id, port, health_path, tags) for r in routes}
    balancer = _find_load_balancer(name)
    if balancer is None:
        balancer = elbv2.create_load_balancer(
            Name=name,
            Subnets=subnets,
            SecurityGroups=[_security_group(f"{name}-alb", vpc_id, tags)],
            Scheme="internet-facing",
            Type="application",
            IpAddressType="ipv4",
            Tags=tags.key_value(),
        )["LoadBalancers"][0]
    arn = balancer["LoadBalancerArn"]
    default = {"Type": "forward", "TargetGroupArn": target_groups[routes[0].service]}
    listeners = elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    listener = next((x for x in listeners if x["Port"] == LISTENER_PORT), None)
    if listener is None:
        listener = elbv2.create_listener(
            LoadBalancerArn=arn, Protocol="HTTP", Port=LISTENER_PORT, DefaultActions=[default], Tags=tags.key_value()
        )["Listeners"][0]
    existing = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    have = {
        tuple(c.get("PathPatternConfig", {}).get("Values") or c.get("Values", []))
        for rule in existing
        for c in rule.get("Conditions", [])
        if c["Field"] == "path-pattern"
    }
    for priority, route in enumerate(routes[1:], start=10):
        if route.paths and tuple(route.paths) not in have:
            elbv2.create_rule(
                ListenerArn=listener["ListenerArn"],
                Priority=priority,
                # PathPatternConfig takes up to 5 patterns (the older top-level Values only one)
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": list(route.paths)}}],
                Actions=[{"Type": "forward", "TargetGroupArn": target_groups[route.service]}],
            )
    return f"http://{balancer['DNSName']}", target_groups


def delete(deployment_name: str, target_groups: list[str], *, wait: bool) -> list[str]:
    """Remove the load balancer, its target groups and its security group. Returns what was removed."""
    elbv2 = clients.client("elbv2")
    removed = []
    name = load_balancer_name(deployment_name)
    balancer = _find_load_balancer(name)
    if balancer:
        elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])  # its listeners and rules go too
        if wait:  # on AWS the ENIs outlive the call; the security group can only go once they are gone
            print(f"… waiting for load balancer {name} to be deleted (up to a few minutes)", flush=True)
            elbv2.get_waiter("load_balancers_deleted").wait(Names=[name])
        removed.append(f"load balancer {name}")
    for group in target_groups:
        found = _find_target_group(group)
        if found:
            elbv2.delete_target_group(TargetGroupArn=found["TargetGroupArn"])
            removed.append(f"target group {group}")
    if security_groups.delete_by_name(f"{name}-alb", retry=wait):
        removed.append(f"security group {name}-alb")
    return removed
