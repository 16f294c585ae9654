"""The deployments' VPC security groups: made tagged with one ingress rule, and deleted — only the project's
own (a group of the same name without the project tag is left alone, and said so) — while AWS may still
hold them for a while.

On AWS, the network interfaces of stopped Fargate tasks and of a deleted load balancer outlive the API
calls that removed them by seconds to minutes; until they are gone, DeleteSecurityGroup answers
`DependencyViolation`. That refusal is retried with a growing pause; every other error is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from shopctl.aws import clients
from shopctl.aws.tagging import PROJECT, Tags

# 5, 10, 20, 30, 30 … seconds: about five minutes in all, the longest an ENI of a deleted ALB has been
# seen to linger.
BACKOFF = (5.0, 10.0, 20.0) + (30.0,) * 9


def ensure(name: str, description: str, vpc_id: str, rule: dict[str, Any], tags: Tags) -> str:
    """The group `name` in `vpc_id` (created, tagged, if missing) admitting `rule`. The rule is checked
    every time, not only at creation: a deploy that stopped between the two calls left a group that
    admits nothing, and the next deploy completes it."""
    ec2 = clients.client("ec2")
    found = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    )["SecurityGroups"]
    if found:
        group_id, permissions = found[0]["GroupId"], found[0].get("IpPermissions", [])
    else:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags.key_value()}],
        )["GroupId"]
        permissions = []
    wanted = (rule["IpProtocol"], rule["FromPort"], rule["ToPort"], rule["IpRanges"][0]["CidrIp"])
    have = {
        (p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"), r.get("CidrIp"))
        for p in permissions
        for r in p.get("IpRanges", [])
    }
    if wanted not in have:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[rule])
    return group_id


def is_project_resource(tags: list[dict[str, str]]) -> bool:
    return any(t.get("Key") == "project" and t.get("Value") == PROJECT for t in tags)


def delete_by_name(
    name: str,
    *,
    retry: bool,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> bool:
    """Delete every security group called `name` that carries the project's tag (True if one was there);
    one of that name without it is someone else's and stays. With `retry`, a `DependencyViolation` is
    retried along BACKOFF before it is raised."""
    ec2 = clients.client("ec2")
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
    groups = [g for g in found if is_project_resource(g.get("Tags", []))]
    for other in (g for g in found if g not in groups):
        say(f"  security group {name} ({other['GroupId']}) kept: it lacks the tag project={PROJECT} (not deploy's)")
    pauses = BACKOFF if retry else ()
    for group in groups:
        for attempt in range(len(pauses) + 1):
            try:
                ec2.delete_security_group(GroupId=group["GroupId"])
                break
            except ClientError as error:
                if error.response["Error"]["Code"] != "DependencyViolation" or attempt == len(pauses):
                    raise
                say(f"  … security group {name} still in use by network interfaces; retry in {pauses[attempt]:.0f}s")
                sleep(pauses[attempt])
    return bool(groups)
