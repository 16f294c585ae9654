"""Deleting a VPC security group that AWS may still hold for a while.

On AWS, the network interfaces of stopped Fargate tasks and of a deleted load balancer outlive the API
calls that removed them by seconds to minutes; until they are gone, DeleteSecurityGroup answers
`DependencyViolation`. That refusal is retried with a growing pause; every other error is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import ClientError

from shopctl.aws import clients

# 5, 10, 20, 30, 30 … seconds: about five minutes in all, the longest an ENI of a deleted ALB has been
# seen to linger.
BACKOFF = (5.0, 10.0, 20.0) + (30.0,) * 9


def delete_by_name(
    name: str,
    *,
    retry: bool,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> bool:
    """Delete every security group called `name` (True if one was there). With `retry`, a
    `DependencyViolation` is retried along BACKOFF before it is raised."""
    ec2 = clients.client("ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
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
